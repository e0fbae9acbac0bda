"""Database wiring: the declarative Base, the UTC datetime type, the per-request session.

Every request gets one session (Flask-SQLAlchemy-Lite ties it to the app context); the request
is committed once at the edge, in `commit_request`, and side effects queued with `after_commit`
run only once that commit has succeeded.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import Flask, Response
from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy import event, orm

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC. Refuses naive datetimes; always returns aware UTC datetimes."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give it a time zone")
        value = value.astimezone(dt.UTC)
        # SQLite has no time zone type: store the UTC wall time and restore the zone on the way out.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(orm.DeclarativeBase):
    """Base of every model: constraint names by convention, datetimes in UTC."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime()}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


db = SQLAlchemy()


def engine_options(url: str) -> dict[str, Any]:
    """Options for create_engine suited to the backend."""
    if url.startswith("postgresql"):
        return {"url": url, "pool_pre_ping": True}
    return {"url": url}


@event.listens_for(sa.Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """Make SQLite behave: foreign keys on, WAL, a busy timeout, and real transactions.

    pysqlite's own transaction handling does not emit BEGIN and breaks SAVEPOINT; the standard
    recipe hands transaction control to SQLAlchemy (see `_sqlite_on_begin`).
    """
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.execute("PRAGMA journal_mode")
    if cursor.fetchone()[0] != "memory":
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(sa.Engine, "begin")
def _sqlite_on_begin(connection: sa.Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")


def after_commit(session: orm.Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's current transaction has committed; drop it on rollback."""
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(orm.Session, "after_commit")
def _run_after_commit(session: orm.Session) -> None:
    for callback in session.info.pop("after_commit", []):
        try:
            callback()
        except Exception:
            log.exception("after-commit callback %r failed", callback)


@event.listens_for(orm.Session, "after_soft_rollback")
def _drop_after_commit(session: orm.Session, previous_transaction: orm.SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop("after_commit", None)


def commit_request(response: Response) -> Response:
    """Commit the request's session once, at the edge: only for responses that did not fail."""
    session = db.session
    if response.status_code < 400:
        session.commit()
    else:
        session.rollback()
    return response


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    app.config.setdefault("SQLALCHEMY_ENGINES", {"default": engine_options(url)})
    db.init_app(app)
    app.after_request(commit_request)
