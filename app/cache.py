"""Rendered pages (and later feeds) built once and served from memory until something changes.

Each cached thing depends on a *topic* ("schedule" for series and calls). Any flush that adds,
changes or deletes a row of a topic's models bumps the topic's version row in the same
transaction; each process compares its cached versions with the database at most once every
CACHE_CHECK_SECONDS, and the process that made the change drops its entries as soon as it commits.
So a cached page costs no query, and no worker serves a stale page for longer than that interval.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, session
from flask_babel import get_locale, get_timezone
from flask_login import current_user
from sqlalchemy import event, orm
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, after_commit, db, utcnow

TOPIC_MODELS: dict[str, tuple[str, ...]] = {
    "schedule": ("Series", "Call", "CallChange", "Region", "Note"),
    "notes": ("Note", "Update", "Region", "RegionAlias", "Person", "Call", "Series"),
}


class CacheVersion(Base):
    """A counter per topic, bumped by every transaction that changes the topic's rows."""

    __tablename__ = "cache_versions"

    topic: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    def __repr__(self) -> str:
        return f"<CacheVersion {self.topic} {self.version}>"


def _topics_touched(session: orm.Session) -> set[str]:
    names = {type(obj).__name__ for obj in (*session.new, *session.dirty, *session.deleted)}
    return {topic for topic, models in TOPIC_MODELS.items() if names & set(models)}


@event.listens_for(orm.Session, "after_flush")
def _bump_on_flush(session: orm.Session, flush_context: Any) -> None:
    bump_versions(session, _topics_touched(session))


def bump_versions(session: orm.Session, topics: set[str]) -> None:
    """Mark `topics` changed by this transaction (once per transaction and topic); bulk
    statements that bypass the unit of work call this themselves."""
    topics = topics - session.info.setdefault("cache_topics_bumped", set())
    if not topics:
        return
    connection = session.connection()
    for topic in sorted(topics):
        connection.execute(
            sa.update(CacheVersion)
            .where(CacheVersion.topic == topic)
            .values(version=CacheVersion.version + 1)
        )
    session.info["cache_topics_bumped"] |= topics
    cache = session.info.get("page_cache")
    if cache is not None:
        after_commit(session, lambda: cache.committed(topics))


@event.listens_for(orm.Session, "after_rollback")
def _forget_rolled_back_bumps(session: orm.Session) -> None:
    """Any rollback, a savepoint's included, may undo bumps: the next flush bumps again."""
    session.info.pop("cache_topics_bumped", None)


@event.listens_for(orm.Session, "after_transaction_end")
def _forget_bumps(session: orm.Session, transaction: orm.SessionTransaction) -> None:
    """A new transaction bumps again. A released savepoint's bumps stay in the transaction
    around it, so an import saving each file in a savepoint bumps each topic once."""
    if transaction.parent is None:
        session.info.pop("cache_topics_bumped", None)


@dataclasses.dataclass
class Entry:
    body: bytes
    valid_until: dt.datetime | None


class PageCache:
    """Entries keyed by (topic, key); versions checked against the database now and then."""

    def __init__(self, check_seconds: float) -> None:
        self.check_seconds = check_seconds
        self.entries: dict[tuple[str, Any], Entry] = {}
        self.versions: dict[str, int] = {}
        self.checked_at = 0.0
        self.lock = threading.Lock()
        # Called with the topics a commit of this process changed, after their entries were
        # dropped (the feed publisher rewrites the published files).
        self.listeners: list[Callable[[set[str]], None]] = []

    def drop(self, topics: set[str]) -> None:
        with self.lock:
            for key in [key for key in self.entries if key[0] in topics]:
                del self.entries[key]

    def committed(self, topics: set[str]) -> None:
        """A transaction of this process that changed `topics` has committed."""
        self.drop(topics)
        for listener in self.listeners:
            listener(topics)

    def _refresh(self) -> None:
        if time.monotonic() - self.checked_at < self.check_seconds:
            return
        rows = dict(db.session.execute(sa.select(CacheVersion.topic, CacheVersion.version)).all())
        changed = {topic for topic, version in rows.items() if self.versions.get(topic) != version}
        self.drop(changed)
        self.versions = rows
        self.checked_at = time.monotonic()

    def get_or_build(
        self,
        topic: str,
        key: Any,
        build: Callable[[], tuple[bytes, dt.datetime | None]],
        now: dt.datetime,
    ) -> bytes:
        """The cached bytes for (topic, key), built by `build` (bytes, valid-until) when needed."""
        self._refresh()
        entry = self.entries.get((topic, key))
        if entry is None or (entry.valid_until is not None and now >= entry.valid_until):
            body, valid_until = build()
            entry = Entry(body, valid_until)
            with self.lock:
                self.entries[(topic, key)] = entry
        return entry.body


def page_cache() -> PageCache:
    return current_app.extensions["convene.page_cache"]


def cached_html(
    topic: str, key: Any, build: Callable[[], tuple[str, dt.datetime | None]]
) -> Response:
    """An HTML page served from the cache for anonymous visitors without pending messages.

    Signed-in pages carry per-session content (CSRF tokens, names) and are always built.
    """

    def build_bytes() -> tuple[bytes, dt.datetime | None]:
        html, valid_until = build()
        return html.encode(), valid_until

    if current_user.is_authenticated or "_flashes" in session:
        body, _ = build_bytes()
    else:
        full_key = (key, str(get_locale()), str(get_timezone()))
        body = page_cache().get_or_build(topic, full_key, build_bytes, utcnow())
    return Response(body, mimetype="text/html")


def init_app(app: Flask) -> None:
    cache = PageCache(float(app.config.get("CACHE_CHECK_SECONDS", 1.0)))
    app.extensions["convene.page_cache"] = cache
    app.extensions["convene.db.sessionmaker"].configure(info={"page_cache": cache})
