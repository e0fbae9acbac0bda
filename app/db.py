"""Database wiring: the declarative Base, the UTC datetime type, the per-request session.

Every app context (so every request, CLI command and job) gets one session, created on first use
and closed at teardown; a request is committed once at the edge, in `commit_request`, and side
effects queued with `after_commit` run only once that commit has succeeded.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import Flask, Response, current_app, g
from sqlalchemy import event, orm

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLITE_CACHE_KIB = 16384  # each SQLite connection's page cache


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


def managed_by_models(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's `include_name`: the search backends' tables (search_*, which differ by
    database) are made by hand in migrations and left out of comparisons with the models."""
    return not (type_ == "table" and (name or "").startswith("search_"))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def engine_options(url: str, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Options for create_engine suited to the backend; `settings` is the app's config.

    PostgreSQL: every checkout is pinged first, so connections a restarted server dropped are
    replaced instead of failing a request; a bounded pool per process (gunicorn runs several);
    connections renewed every half hour (before firewalls or poolers cut idle ones); a connect
    timeout and a pool timeout, so that a request waits seconds, not minutes, for a database
    that does not answer; every statement planned for its own parameters.
    """
    settings = settings or {}
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = int(settings.get("DATABASE_CONNECT_TIMEOUT", 5))
        if "options" not in parsed.query:
            # psycopg prepares a statement run five times on a connection, and PostgreSQL may
            # then plan it once for any parameters. A search's best plan depends on them (a word
            # in 4% of updates or in all of them): a generic plan took 1.2 s where the one made
            # for the word took 0.12 s. So each execution is planned for its parameters.
            connect_args["options"] = "-c plan_cache_mode=force_custom_plan"
        return {
            "url": parsed,
            "pool_pre_ping": True,
            "pool_size": int(settings.get("DATABASE_POOL_SIZE", 5)),
            "max_overflow": int(settings.get("DATABASE_MAX_OVERFLOW", 5)),
            "pool_timeout": float(settings.get("DATABASE_POOL_TIMEOUT", 10)),
            "pool_recycle": int(settings.get("DATABASE_POOL_RECYCLE", 1800)),
            "connect_args": connect_args,
        }
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        # One shared connection, or each checkout would see its own empty database.
        return {
            "url": parsed,
            "poolclass": sa.pool.StaticPool,
            "connect_args": {"check_same_thread": False},
        }
    # A file: the default pool, last in first out. A search takes two connections (the page,
    # and the facets beside it): so each keeps finding the pages it read last time in its own
    # cache, where first in first out would hand them the other's.
    return {"url": parsed, "pool_use_lifo": True}


class Database:
    """The app's engine and sessionmaker, and one session per app context.

    (Flask-SQLAlchemy-Lite does the same but registers an async teardown on every app, which
    Flask runs through asgiref on every request and which fails beside a running event loop.)
    """

    def init_app(self, app: Flask) -> None:
        engine = sa.create_engine(**engine_options(app.config["DATABASE_URL"], app.config))
        app.extensions["convene.db.engine"] = engine
        app.extensions["convene.db.sessionmaker"] = orm.sessionmaker(engine)
        app.teardown_appcontext(self._close_session)

    @property
    def engine(self) -> sa.Engine:
        return current_app.extensions["convene.db.engine"]

    @property
    def sessionmaker(self) -> orm.sessionmaker[orm.Session]:
        return current_app.extensions["convene.db.sessionmaker"]

    @property
    def session(self) -> orm.Session:
        """This app context's session, created on first use."""
        if "db_session" not in g:
            g.db_session = self.sessionmaker()
        return g.db_session

    @staticmethod
    def _close_session(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


db = Database()


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
    # 16 MB of pages per connection rather than 2: a search of a large index reads more than
    # 2 MB of it (a word's positions, the matches' sizes for ranking, the page's text).
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
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


def after_commit_collect(
    session: orm.Session, key: str, callback: Callable[[set[Any]], None]
) -> set[Any]:
    """A set for the session's current transaction: what its flushes add to it is handed to
    `callback` once, after the transaction commits (an import's 1,000 published notes make one
    call, not 1,000); a rollback drops it."""
    collected: dict[str, set[Any]] = session.info.setdefault("after_commit_sets", {})
    if key not in collected:
        collected[key] = set()
        after_commit(session, lambda: callback(collected.pop(key, set())))
    return collected[key]


@event.listens_for(orm.Session, "after_commit")
def _run_after_commit(session: orm.Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: wait for the transaction itself to commit
    for callback in session.info.pop("after_commit", []):
        try:
            callback()
        except Exception:
            log.exception("after-commit callback %r failed", callback)


@event.listens_for(orm.Session, "after_soft_rollback")
def _drop_after_commit(session: orm.Session, previous_transaction: orm.SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop("after_commit", None)
        session.info.pop("after_commit_sets", None)


def commit_request(response: Response) -> Response:
    """Commit the request's session once, at the edge: only for responses that did not fail."""
    session = g.get("db_session")
    if session is None:
        return response
    if response.status_code < 400:
        session.commit()
    else:
        session.rollback()
    return response


def init_app(app: Flask) -> None:
    db.init_app(app)
    app.after_request(commit_request)
