"""Fixtures: the app on each database backend, isolated tests, a signed-in client.

The schema is built by running the migrations, once per backend and test session. Each test runs
inside a transaction that is rolled back afterwards; requests commit to a savepoint within it.

Backends: SQLite always; PostgreSQL when TEST_DATABASE_URL names a server (a fresh database is
created on it for the run and dropped afterwards). With CI=true, PostgreSQL is mandatory.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import redis
from alembic import command
from flask import Flask, got_request_exception
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app
from app.auth import services as account_services
from app.auth.models import User
from app.cache import page_cache
from app.calls import services as calls
from app.calls.models import Series
from app.cli import alembic_config
from app.db import db
from app.security import rate_limits
from app.taxonomy.services import seed_regions
from app.testing import temporary_postgres_database

IN_CI = os.environ.get("CI", "").lower() == "true"
REDIS_URL = "redis://127.0.0.1:6379"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
PASSWORD = "correct horse battery"

BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL or IN_CI else [])
RAN: dict[str, set[str]] = {"backends": set(), "e2e": set()}


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not TEST_DATABASE_URL:
        raise pytest.UsageError("CI=true: TEST_DATABASE_URL must name the PostgreSQL server.")


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """A new, empty database of `backend`."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'convene-{uuid.uuid4().hex[:8]}.sqlite3'}"
    else:
        with temporary_postgres_database(
            TEST_DATABASE_URL or "postgresql://postgres@127.0.0.1"
        ) as url:
            yield url


def migrate(app: Flask, revision: str = "head", action: str = "upgrade") -> None:
    with app.app_context(), db.engine.begin() as connection:
        getattr(command, action)(alembic_config(connection), revision)


def make_app(database_url: str, **overrides: Any) -> Flask:
    return create_app({"DATABASE_URL": database_url, **overrides})


def dispose(app: Flask) -> None:
    """Close the app's pooled connections (PostgreSQL warns about connections left to the GC)."""
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app_factory(database_url: str) -> Iterator[Any]:
    """Make extra apps on the session's database (say, a second worker); disposed afterwards."""
    made: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        made.append(make_app(database_url, **overrides))
        return made[-1]

    yield factory
    for app in made:
        dispose(app)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the session's backend, its schema built by the migrations."""
    with fresh_database(backend, tmp_path_factory.mktemp(backend)) as url:
        migrator = make_app(url)
        migrate(migrator)
        with migrator.app_context():
            seed_regions(db.session)  # the region tree, as `flask demo` loads it
            db.session.commit()
        dispose(migrator)
        yield url


@pytest.fixture(scope="session")
def base_app(database_url: str) -> Iterator[Flask]:
    app = make_app(database_url)
    yield app
    dispose(app)


@pytest.fixture
def app(base_app: Flask, backend: str) -> Iterator[Flask]:
    """The app, with every test's database work rolled back afterwards.

    All sessions (the test's and each request's) share one connection whose outer transaction is
    never committed; their commits release savepoints inside it.
    """
    RAN["backends"].add(backend)
    with base_app.app_context():
        rate_limits().reset()
        page_cache().entries.clear()
        page_cache().versions.clear()
        engine, maker = db.engine, db.sessionmaker
    errors: list[BaseException] = []

    def record(sender: Flask, exception: BaseException, **extra: Any) -> None:
        errors.append(exception)

    with engine.connect() as connection, got_request_exception.connected_to(record, base_app):
        transaction = connection.begin()
        options = {"bind": connection, "join_transaction_mode": "create_savepoint"}
        with mock.patch.dict(maker.kw, options):
            yield base_app
        transaction.rollback()
    # No request in any test may end in an unhandled error (a 500), whatever its input.
    assert not errors, f"a request raised {errors[0]!r}"


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session of the test's own, on the test's connection."""
    with app.app_context():
        maker = db.sessionmaker
    session = maker()
    yield session
    session.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def queued_confirmation(
    app: Flask, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Mail written to a folder (returned) instead of an SMTP server, and one confirmation
    message in the outbox, for amina@example.org."""
    from app.mail import services as mail_services

    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", str(tmp_path))
    mail_services.subscribe(session, "amina@example.org", mail_services.Preferences())
    session.commit()
    return tmp_path


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token from a form on `path` (tokens are tied to the client's session)."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def make_user(session: Session) -> Any:
    """Create a user (committed to the test's savepoint) with the shared test password."""

    def make(email: str = "editor@example.org", role: str = "editor", **kwargs: Any) -> User:
        kwargs.setdefault("name", email.split("@")[0].title())
        user = account_services.create_user(
            session, email=email, role=role, password=PASSWORD, **kwargs
        )
        session.commit()
        return user

    return make


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str = PASSWORD, **extra: Any) -> Any:
        data = {"email": email, "password": password, "csrf_token": csrf_token(self.client)}
        return self.client.post("/login", data=data | extra)

    def logout(self) -> Any:
        return self.client.post("/logout", data={"csrf_token": csrf_token(self.client, "/")})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    backends = ", ".join(sorted(RAN["backends"])) or "none"
    e2e = "ran" if RAN["e2e"] else "did not run"
    terminalreporter.write_line(f"Database backends tested: {backends}. Browser tests: {e2e}.")


def coalition_series(
    session: Session, first_date: str, rrule: str = "FREQ=MONTHLY;BYDAY=2TU", **options: Any
) -> Series:
    """The "Coalition call" series most tests use: 10:00 New York, second Tuesdays by default.
    `options` go to create_series (now=, horizon_months=)."""
    data = calls.SeriesInput(
        title="Coalition call",
        timezone="America/New_York",
        start_time="10:00",
        rrule=rrule,
        first_date=first_date,
    )
    return calls.create_series(session, data, **options)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix for this test only (the server at REDIS_URL); its keys are deleted
    afterwards. With CI=true a Redis that does not answer fails the test."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if IN_CI:
            raise
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    prefix = f"convene-test-{uuid.uuid4().hex}"
    yield prefix
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()
