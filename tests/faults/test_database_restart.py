"""PostgreSQL restarted while the app runs: during the outage every request fails cleanly (a 503
that says so, with Retry-After; never a 500, a dropped connection or a hung worker; /healthz
says "down") and once the server is back every request succeeds, served by the same gunicorn
workers: nothing was restarted but PostgreSQL.

The server is one of the test's own (tests/faults/conftest.py), stopped the clean way (`fast`:
connections are told the server is shutting down) and the crash way (`immediate`: recovery at
the next start). Before the outage, bursts of concurrent requests leave several connections in
each worker's pool; all of them are dead after the restart, and pre-ping replaces each one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.db import db
from app.notes.services import NoteInput, save_note

from ..conftest import dispose, make_app, migrate
from .conftest import Browser, Cluster, Gunicorn, Reply

NOTE = NoteInput(
    title="Outage drill",
    body="## Kenya (@amina)\n- Paralegals held forty mobile clinics in Turkana.\n",
    status="published",
    language="en",
    slug="outage-drill",
)
# Each reads the database on every request (the page cache checks its versions each time).
PAGES = ("/", f"/notes/{NOTE.slug}", "/api/search?q=paralegals", "/healthz")


@pytest.fixture
def served(private_postgres: Cluster, tmp_path: Path) -> Iterator[Gunicorn]:
    url = private_postgres.url.replace("postgresql://", "postgresql+psycopg://")
    app = make_app(url)
    migrate(app)
    with app.app_context():
        save_note(db.session, NOTE)
        db.session.commit()
    dispose(app)
    env = {"DATABASE_URL": url}
    with Gunicorn(tmp_path / "gunicorn.log", env, workers=2, threads=4) as server:
        yield server


def burst(server: Gunicorn, rounds: int = 6) -> list[tuple[str, Reply]]:
    """Every page `rounds` times, 8 requests at a time."""
    paths = list(PAGES) * rounds
    with ThreadPoolExecutor(8) as pool:
        replies = pool.map(lambda path: Browser(server.base_url, timeout=60).open(path), paths)
        return list(zip(paths, replies, strict=True))


def assert_unavailable(path: str, reply: Reply) -> None:
    assert reply.status == 503, f"{path}: {reply.status} {reply.text[-300:]}"
    if path == "/healthz":
        health = json.loads(reply.body)
        assert health["status"] == "down" and not health["database"]["ok"]
        return
    assert reply.headers["Retry-After"].isdigit()
    if path.startswith("/api/"):
        assert json.loads(reply.body)["error"]["status"] == 503
    else:
        assert "Service unavailable" in reply.text
        assert "The database cannot be reached right now" in reply.text


def assert_served(path: str, reply: Reply) -> None:
    assert reply.status == 200, f"{path}: {reply.status} {reply.text[-300:]}"
    if path.startswith("/api/search"):
        assert json.loads(reply.body)["total"] == 1
    elif path == "/healthz":  # no scheduler runs here: "degraded", but the database answers
        assert json.loads(reply.body)["database"]["ok"]
    elif path.startswith("/notes/"):
        assert "Outage drill" in reply.text


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_an_outage_is_a_503_and_the_app_recovers_by_itself(
    private_postgres: Cluster, served: Gunicorn, mode: str
) -> None:
    workers = served.workers()
    for path, reply in burst(served):
        assert_served(path, reply)

    private_postgres.stop(mode)
    for path, reply in burst(served):
        assert_unavailable(path, reply)

    private_postgres.start()
    for path, reply in burst(served):
        assert_served(path, reply)
    assert served.workers() == workers, "a worker died or was replaced"
