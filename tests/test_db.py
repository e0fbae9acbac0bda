"""The data layer: UTC datetimes, after-commit hooks, and migrations that match the models."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy.orm import Session

from app.auth.models import User
from app.db import SQLITE_CACHE_KIB, Base, after_commit, db, engine_options, managed_by_models
from app.models import import_all_models

from .conftest import dispose, fresh_database, make_app, migrate


def _user(**kwargs: object) -> User:
    return User(email="t@example.org", name="T", password_hash="x", role="editor", **kwargs)


def test_naive_datetimes_are_refused(session: Session) -> None:
    session.add(_user(created_at=dt.datetime(2026, 3, 10, 10, 0)))
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        session.flush()


def test_aware_datetimes_come_back_in_utc(session: Session) -> None:
    new_york = dt.datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    user = _user(created_at=new_york)
    session.add(user)
    session.commit()
    session.expire_all()
    loaded = session.get(User, user.id)
    assert loaded is not None
    assert loaded.created_at == new_york
    assert loaded.created_at.utcoffset() == dt.timedelta(0)
    assert loaded.created_at.hour == 14  # 10:00 EDT is 14:00 UTC


def test_after_commit_runs_only_after_a_commit(session: Session) -> None:
    ran: list[str] = []
    after_commit(session, lambda: ran.append("rolled back"))
    session.add(_user())
    session.flush()
    session.rollback()
    after_commit(session, lambda: ran.append("committed"))
    session.add(_user())
    assert ran == []
    session.commit()
    assert ran == ["committed"]


def test_models_and_migrations_agree(app: Flask) -> None:
    import_all_models()
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": managed_by_models}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migrations_upgrade_downgrade_upgrade(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        app = make_app(url)
        migrate(app, "head")
        with app.app_context():
            tables = set(sa.inspect(db.engine).get_table_names())
        assert {"users", "alembic_version"} <= tables
        migrate(app, "base", action="downgrade")
        with app.app_context():
            assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        migrate(app, "head")
        with app.app_context():
            assert "users" in sa.inspect(db.engine).get_table_names()
        dispose(app)


def test_a_sqlite_file_keeps_each_connections_pages_with_it(tmp_path: Path) -> None:
    """A search holds two connections at once: the pool hands the last one returned out first,
    so each goes on finding the pages it read in its own 16 MB cache."""
    engine = sa.create_engine(**engine_options(f"sqlite:///{tmp_path / 'pool.sqlite3'}"))
    try:
        with engine.connect() as first, engine.connect() as second:
            first_dbapi = first.connection.dbapi_connection
            second_dbapi = second.connection.dbapi_connection
            pages = first.exec_driver_sql("PRAGMA cache_size").scalar_one()
        assert pages == -SQLITE_CACHE_KIB == -16384
        # They went back to the pool `second` then `first`: the last returned comes out first.
        with engine.connect() as again, engine.connect() as then:
            assert again.connection.dbapi_connection is first_dbapi
            assert then.connection.dbapi_connection is second_dbapi
    finally:
        engine.dispose()


def test_connections_are_set_up_for_searching(session: Session, backend: str) -> None:
    """SQLite keeps 16 MB of pages per connection; PostgreSQL plans each statement for its own
    parameters, even one psycopg has prepared (how common a searched word is decides the plan)."""
    if backend == "sqlite":
        assert session.execute(sa.text("PRAGMA cache_size")).scalar_one() == -SQLITE_CACHE_KIB
    else:
        setting = session.execute(sa.text("SHOW plan_cache_mode")).scalar_one()
        assert setting == "force_custom_plan"
