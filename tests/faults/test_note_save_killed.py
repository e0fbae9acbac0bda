"""A gunicorn worker killed with SIGKILL in the middle of a note save leaves nothing of it, and
the app goes on serving and saving.

The moment is chosen, not left to chance: tests/faults/server.py stops the save just before
COMMIT reaches the database, after everything the save writes has been flushed (the note, its
updates and their tags, the speakers it names, its revision, its search documents), and reports
the rows its transaction holds. The test checks that the transaction holds a whole note that no
one else can see, kills the worker, and finds none of those rows; then the same save, through a
worker gunicorn started in place of the dead one or the other worker, stores exactly what the
killed one held. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.auth import services as accounts
from app.db import db
from app.taxonomy.services import seed_regions

from ..conftest import BACKENDS, PASSWORD, dispose, fresh_database, make_app, migrate
from .conftest import Browser, Gunicorn
from .server import tables

EDITOR = "editor@example.org"
NOTE = {
    "title": "Killed mid-save",
    "slug": "",
    "call_id": "",
    "status": "published",
    "language": "en",
    "recording_url": "",
    "base_revision": "0",
    "body": (
        "Chair: @amina_b.\n\n"
        "## West Africa (@kofi_m)\n"
        "- Ghana: paralegals held twelve mobile clinics.\n"
        "- Nigeria: the legal aid council published its caseload.\n\n"
        "## East and Horn of Africa (@wanjiru)\n"
        "- Kenya: court users' committees now meet monthly.\n"
    ),
}


def prepare(url: str) -> None:
    """The schema, the region tree and an editor."""
    app = make_app(url)
    migrate(app)
    with app.app_context():
        seed_regions(db.session)
        accounts.create_user(db.session, email=EDITOR, name="Eddie", password=PASSWORD)
        db.session.commit()
    dispose(app)


def stored(url: str) -> dict[str, int]:
    """The rows of every table a note save writes, as another connection sees them."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            names = tables(connection.dialect.name)
            return {
                t: connection.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
                for t in names
            }
    finally:
        engine.dispose()


def wait_for(marker: Path, saving: Any) -> dict[str, int]:
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert not saving.done(), f"the save ended without pausing: {saving.result()}"
        assert time.monotonic() < deadline, "the save never reached its commit"
        time.sleep(0.05)
    return json.loads(marker.read_text())


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_killed_during_a_note_save_leaves_no_partial_note(
    backend: str, tmp_path: Path
) -> None:
    with fresh_database(backend, tmp_path) as url:
        prepare(url)
        empty = stored(url)
        assert empty["notes"] == empty["people"] == 0
        marker = tmp_path / "paused.json"
        env = {"DATABASE_URL": url, "FAULTS_PAUSE_FILE": str(marker)}
        with Gunicorn(tmp_path / "gunicorn.log", env, workers=2) as server:
            browser = Browser(server.base_url)
            browser.login(EDITOR, PASSWORD)
            with ThreadPoolExecutor(1) as pool:
                saving = pool.submit(browser.submit, "/notes/new", NOTE)
                held = wait_for(marker, saving)
                killed = held.pop("pid")
                # The transaction holds the whole save; nobody else sees any of it.
                assert held["notes"] == 1 and held["note_revisions"] == 1
                assert held["updates"] >= 3 and held["search_documents"] == held["updates"]
                assert held["update_regions"] > 0 and held["update_speakers"] > 0
                assert held["people"] >= 3
                assert stored(url) == empty
                os.kill(killed, signal.SIGKILL)
                with pytest.raises(OSError):  # the connection dies with the worker
                    saving.result(timeout=60)

            assert stored(url) == empty, "the killed save left rows behind"

            server.wait_for_workers(replacing=killed)
            saved = browser.submit("/notes/new", NOTE)
            assert saved.status == 302, saved.text[-500:]
            page = browser.open(saved.headers["Location"].removeprefix(server.base_url))
            assert page.status == 200 and "Killed mid-save" in page.text
            found = json.loads(browser.open("/api/search?q=caseload").body)
            assert found["total"] == 1
            assert stored(url) == held, "the same save, done again, stores what was held"
