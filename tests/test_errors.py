"""A database that cannot serve is a 503 that says so (app/errors.py); other database errors
stay 500s. tests/faults/test_database_restart.py restarts a real server under gunicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.db import db

from .conftest import BACKENDS, dispose, fresh_database, make_app, migrate
from .mail.conftest import free_port


@pytest.fixture
def down_app() -> Iterator[Flask]:
    """The app on a PostgreSQL server that is not there: nothing listens on its port."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/convene"
    app = make_app(url, PROPAGATE_EXCEPTIONS=False)
    yield app
    dispose(app)


@pytest.mark.parametrize("path", ["/", "/notes/minutes", "/search?q=paralegals"])
def test_pages_say_the_database_is_unavailable(down_app: Flask, path: str) -> None:
    response = down_app.test_client().get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    html = response.get_data(as_text=True)
    assert "<h1>Service unavailable</h1>" in html
    assert "The database cannot be reached right now. Try again in a minute." in html


def test_the_api_says_it_in_json(down_app: Flask) -> None:
    response = down_app.test_client().get("/api/search?q=paralegals")
    assert response.status_code == 503
    assert response.get_json()["error"]["status"] == 503


def test_a_signed_in_visitor_gets_a_page_that_needs_no_database(down_app: Flask) -> None:
    client = down_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"  # their name and language would come from the database
    response = client.get("/")
    assert response.status_code == 503
    assert "<p>The database cannot be reached right now.</p>" in response.get_data(as_text=True)


def test_a_sqlite_file_that_cannot_be_opened(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'missing' / 'convene.sqlite3'}")
    try:
        assert app.test_client().get("/").status_code == 503
    finally:
        dispose(app)


def test_other_database_errors_stay_500s(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}", PROPAGATE_EXCEPTIONS=False)
    try:  # no tables: "no such table" is a fault in the app, not an outage
        assert app.test_client().get("/").status_code == 500
    finally:
        dispose(app)


def test_a_pool_with_every_connection_busy_is_a_503(tmp_path: Path) -> None:
    """PostgreSQL's pool is bounded per process (DATABASE_POOL_SIZE): a request that waits out
    DATABASE_POOL_TIMEOUT for a connection gets a 503, not a 500. (SQLite has no such pool.)"""
    if "postgresql" not in BACKENDS:
        pytest.skip("PostgreSQL is not among the test databases")
    with fresh_database("postgresql", tmp_path) as url:
        settings = {"DATABASE_POOL_SIZE": 1, "DATABASE_MAX_OVERFLOW": 0}
        app = make_app(url, PROPAGATE_EXCEPTIONS=False, DATABASE_POOL_TIMEOUT=0.2, **settings)
        try:
            with app.app_context():
                migrate(app)
                with db.engine.connect():  # the pool's one connection, held
                    response = app.test_client().get("/api/search?q=paralegals")
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "30"
            assert response.get_json()["error"]["status"] == 503
        finally:
            dispose(app)
