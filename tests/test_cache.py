"""Cached pages: built once, dropped as soon as the schedule changes, in every worker."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.cache import TOPIC_MODELS, CacheVersion, PageCache
from app.calls import services
from app.db import db, utcnow

from .conftest import dispose, fresh_database, make_app, migrate


def _series(session: Session, title: str) -> Any:
    series = services.create_series(
        session,
        services.SeriesInput(
            title=title,
            timezone="Europe/Brussels",
            start_time="16:00",
            rrule="FREQ=WEEKLY",
            first_date=utcnow().date().isoformat(),
        ),
    )
    session.commit()
    return series


def test_home_page_is_served_from_the_cache_until_the_schedule_changes(
    app: Flask, session: Session, monkeypatch: Any
) -> None:
    client = app.test_client()
    _series(session, "First series")
    builds: list[int] = []
    from app.main import routes

    original = routes.upcoming_calls
    monkeypatch.setattr(
        routes, "upcoming_calls", lambda *a, **k: builds.append(1) or original(*a, **k)
    )
    first = client.get("/").get_data()
    assert client.get("/").get_data() == first
    assert len(builds) == 1  # the second request was answered from memory

    _series(session, "Second series")  # a commit touching the schedule
    assert b"Second series" in client.get("/").get_data()
    assert len(builds) == 2


def test_signed_in_pages_are_never_cached(
    app: Flask, session: Session, auth: Any, make_user: Any
) -> None:
    _series(session, "A series")
    make_user("e@example.org")
    auth.login("e@example.org")
    assert b"Sign out" in auth.client.get("/").get_data()
    anonymous = app.test_client().get("/").get_data()
    assert b"Sign out" not in anonymous and b"csrf_token" not in anonymous


def test_another_worker_sees_the_change(backend: str, tmp_path: Path) -> None:
    """Two apps on one database, as two gunicorn workers: a change made by one reaches the other."""
    with fresh_database(backend, tmp_path) as url:
        worker_a, worker_b = make_app(url), make_app(url, CACHE_CHECK_SECONDS=0.0)
        migrate(worker_a)
        try:
            with worker_a.app_context():
                _series(db.session, "Before")
            assert b"Before" in worker_b.test_client().get("/").get_data()
            with worker_a.app_context():
                series = services.find_series(db.session, "before")
                series_input = services.SeriesInput(
                    title="After",
                    timezone=series.timezone,
                    start_time=series.start_time,
                    rrule=series.rrule,
                    first_date=series.first_date,
                )
                services.update_series(db.session, series, series_input)
                db.session.commit()
            page = worker_b.test_client().get("/").get_data()
            assert b"After" in page and b"Before" not in page
        finally:
            dispose(worker_a)
            dispose(worker_b)


def test_entries_expire_when_their_first_call_ends() -> None:
    cache = PageCache(check_seconds=3600)
    cache.checked_at = time.monotonic()  # no version check during this test
    builds: list[int] = []
    ends = utcnow() + dt.timedelta(minutes=5)

    def build() -> tuple[bytes, dt.datetime | None]:
        builds.append(1)
        return b"page", ends

    cache.get_or_build("schedule", "k", build, utcnow())
    cache.get_or_build("schedule", "k", build, utcnow())
    cache.get_or_build("schedule", "k", build, ends + dt.timedelta(seconds=1))
    assert len(builds) == 2


def _version(session: Session, topic: str) -> int:
    query = sa.select(CacheVersion.version).where(CacheVersion.topic == topic)
    return session.scalar(query) or 0


def _add_series(session: Session, title: str) -> None:
    data = services.SeriesInput(
        title=title,
        timezone="Europe/Brussels",
        start_time="16:00",
        rrule="FREQ=WEEKLY",
        first_date=utcnow().date().isoformat(),
    )
    services.create_series(session, data)


def test_a_transaction_bumps_once_whatever_its_savepoints(session: Session) -> None:
    """As an import saves each file in a savepoint: a released savepoint's bump stays in the
    transaction, so the next savepoint does not bump again."""
    before = _version(session, "schedule")
    for title in ("First", "Second"):
        savepoint = session.begin_nested()
        _add_series(session, title)
        savepoint.commit()
    session.commit()
    assert _version(session, "schedule") == before + 1


def test_a_bump_rolled_back_with_its_savepoint_is_made_again(session: Session) -> None:
    before = _version(session, "schedule")
    savepoint = session.begin_nested()
    _add_series(session, "Refused")
    savepoint.rollback()
    _add_series(session, "Accepted")
    session.commit()
    assert _version(session, "schedule") == before + 1


def test_every_topic_has_its_version_row(session: Session) -> None:
    """A topic without a row is bumped in vain: other processes never see its changes."""
    rows = set(session.scalars(sa.select(CacheVersion.topic)))
    assert rows == set(TOPIC_MODELS)
