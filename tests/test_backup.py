"""Backup and restore through the CLI, on each backend: `flask backup create` while another
connection is writing, `flask backup restore` into a fresh database, and every note, call and
subscriber found again (ids, slugs and contents, not only counts)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.auth.models import User
from app.calls.models import Call, Series
from app.db import db
from app.mail import services as mail
from app.mail.models import Subscriber
from app.notes.models import Note, NoteRevision, Update

from .conftest import dispose, fresh_database, make_app, migrate


@pytest.fixture
def database_urls(backend: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh, empty databases of the backend: the original and the one restored into."""
    with (
        fresh_database(backend, tmp_path) as original,
        fresh_database(backend, tmp_path) as restored,
    ):
        yield original, restored


def invoke(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=list(args))
    return result


def snapshot(app: Flask) -> dict[str, Any]:
    """Everything the restore must bring back, by id."""
    with app.app_context():
        session = db.session
        return {
            "notes": {
                (n.id, n.slug, n.status, n.title, n.body, n.body_html, n.call_id, n.published_at)
                for n in session.scalars(sa.select(Note))
            },
            "revisions": set(session.execute(sa.select(NoteRevision.id, NoteRevision.note_id))),
            "updates": {
                (u.id, u.note_id, u.anchor, tuple(sorted(r.id for r in u.regions)))
                for u in session.scalars(sa.select(Update))
            },
            "series": set(session.execute(sa.select(Series.id, Series.slug, Series.rrule))),
            "calls": set(
                session.execute(sa.select(Call.id, Call.series_id, Call.start_at, Call.status))
            ),
            "subscribers": {
                (s.id, s.email, s.status, tuple(sorted(r.slug for r in s.regions)))
                for s in session.scalars(sa.select(Subscriber))
            },
            "users": set(session.execute(sa.select(User.id, User.email, User.password_hash))),
        }


def search(app: Flask, text: str) -> list[Any]:
    response = app.test_client().get("/api/search", query_string={"q": text})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["results"]


def test_backup_restores_every_note_call_and_subscriber(
    backend: str, database_urls: tuple[str, str], tmp_path: Path
) -> None:
    original_url, restored_url = database_urls
    original = make_app(original_url)
    migrate(original)
    result = invoke(original, "demo")
    assert result.exit_code == 0, result.output
    with original.app_context():
        mail.subscribe(db.session, "amina@example.org", mail.Preferences())
        mail.subscribe(db.session, "rina@example.org", mail.Preferences(regions=["west-africa"]))
        db.session.commit()
    before = snapshot(original)
    assert len(before["notes"]) >= 5 and len(before["calls"]) >= 10
    assert len(before["subscribers"]) == 2
    found = search(original, "paralegals")
    assert found

    # A writer is in the middle of a transaction while the backup runs: the backup neither
    # waits for it nor holds what it has not committed.
    with original.app_context():
        engine = db.engine
    backup = tmp_path / "backups" / f"convene.{backend}.backup"
    with engine.connect() as writer:
        writer.execute(sa.insert(Subscriber).values(email="late@example.org", status="pending"))
        result = invoke(original, "backup", "create", str(backup))
        writer.commit()
    assert result.exit_code == 0, result.output
    assert f"Backed up the {backend} database to {backup}" in result.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # it holds password hashes
    assert [p.name for p in backup.parent.iterdir()] == [backup.name]  # no temporary left

    restored = make_app(restored_url)
    try:
        result = invoke(restored, "backup", "restore", str(backup))
        assert result.exit_code == 0, result.output
        assert f"Restored {backup} into the {backend} database." in result.output
        after = snapshot(restored)
        for table, rows in before.items():
            assert after[table] == rows, table
        assert search(restored, "paralegals") == found
        with restored.app_context():
            revision = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        assert revision and revision in result.output
        # The restored database takes writes: sequences (PostgreSQL) carried on.
        with restored.app_context():
            subscriber = mail.subscribe(db.session, "new@example.org", mail.Preferences())
            db.session.commit()
            assert subscriber.id > max(row[0] for row in before["subscribers"])

        # Restoring over a database that holds data is refused, and changes nothing.
        result = invoke(restored, "backup", "restore", str(backup))
        assert result.exit_code == 1
        assert "already holds tables" in result.output
        assert len(snapshot(restored)["subscribers"]) == 3
    finally:
        dispose(restored)
        dispose(original)


def test_restore_refuses_the_other_backends_file(backend: str, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.backup"
    foreign.write_bytes(b"PGDMP\x01\x0f" if backend == "sqlite" else b"SQLite format 3\x00")
    with fresh_database(backend, tmp_path) as url:
        app = make_app(url)
        try:
            result = invoke(app, "backup", "restore", str(foreign))
            assert result.exit_code == 1
            expected = "not a SQLite backup" if backend == "sqlite" else "not a pg_dump archive"
            assert expected in result.output
            with app.app_context():
                assert sa.inspect(db.engine).get_table_names() == []
        finally:
            dispose(app)


def test_a_failed_backup_leaves_no_file(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'missing' / 'convene.sqlite3'}")
    target = tmp_path / "convene.backup"
    result = invoke(app, "backup", "create", str(target))
    assert result.exit_code == 1 and "does not exist" in result.output
    assert not target.exists() and os.listdir(tmp_path) == []
