"""The app as the fault tests serve it under gunicorn: `tests.faults.server:create()`.

The database comes from DATABASE_URL; the settings are the test settings (no mail, the page
cache checking the database on every request) except TESTING, so errors go through the app's
handlers as in production.

The one test-only hook: with FAULTS_PAUSE_FILE set, the first commit of a note save
(POST /notes/new) stops just before COMMIT reaches the database, after every flush (the note,
its updates and tags, its revision, its search documents). It writes the file (this worker's
pid and the rows its transaction holds) and sleeps until it is killed. Nothing in app/ knows.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, has_request_context, request

from app import create_app
from app.db import db
from config import database_url

# Rows a note save writes, counted by the paused transaction itself.
TABLES = (
    "notes",
    "updates",
    "note_revisions",
    "update_regions",
    "update_speakers",
    "people",
    "search_documents",
)


def tables(dialect: str) -> tuple[str, ...]:
    """TABLES, and the search index's table beside `search_documents`: SQLite's full-text
    index, PostgreSQL's tsvectors kept in their rows."""
    return (*TABLES, "search_fts" if dialect == "sqlite" else "search_vectors")


def create() -> Flask:
    app = create_app(
        {
            "DATABASE_URL": database_url(os.environ["DATABASE_URL"]),
            "TESTING": False,
            "SECRET_KEY": "faults",
        }
    )
    pause_file = os.environ.get("FAULTS_PAUSE_FILE")
    if pause_file:
        with app.app_context():
            pause_before_note_commit(db.engine, Path(pause_file))
    return app


def pause_before_note_commit(engine: sa.Engine, marker: Path) -> None:
    @sa.event.listens_for(engine, "commit")
    def pause(connection: sa.Connection) -> None:
        saving = has_request_context() and request.endpoint == "notes.new_note"
        if not saving or request.method != "POST" or marker.exists():
            return
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        rows: dict[str, Any] = {"pid": os.getpid()}
        for table in tables(connection.dialect.name):
            cursor.execute(f"SELECT count(*) FROM {table}")
            rows[table] = cursor.fetchone()[0]
        cursor.close()
        partial = marker.with_suffix(".partial")
        partial.write_text(json.dumps(rows))
        partial.rename(marker)
        time.sleep(600)  # until the test kills this worker
