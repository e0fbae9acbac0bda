"""Fixtures for the feed tests: a scenario of series changes, and the app on a live server.

The scenario is built relative to the real clock (a feed holds the past twelve months and the
future from "now"): a monthly second-Tuesday 10:00 New York series, one call rescheduled by two
weeks across a daylight-saving change, one call cancelled, an extra call in Brussels, and a
change of the series' rule (last Thursday, 09:00) a few months on. `Scenario.expected` computes,
independently of the app's recurrence code, the UTC instants a client must list.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as du
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app.calls import services as calls
from app.calls.models import Call
from app.db import db
from app.taxonomy.services import seed_regions

from ..conftest import IN_CI, RAN, dispose, fresh_database, make_app, migrate

NEW_YORK = ZoneInfo("America/New_York")
BRUSSELS = ZoneInfo("Europe/Brussels")
ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLIENTS_VENV = Path(os.environ.get("FEED_CLIENTS_VENV", ROOT / ".venv" / "feed-clients"))
DAY = dt.timedelta(days=1)


def instant(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return local.replace(tzinfo=zone).astimezone(dt.UTC)


@dataclasses.dataclass
class Scenario:
    now: dt.datetime
    first_date: dt.date
    slug: str
    old_slug: str
    change_date: dt.date  # the first day of the new rule
    cancelled: dt.datetime  # UTC start of the cancelled call
    cancelled_id: int
    moved_from: dt.datetime  # UTC original start of the rescheduled call
    moved_to: dt.datetime
    moved_id: int
    extra: dt.datetime
    extra_id: int

    @property
    def until(self) -> dt.datetime:
        return self.now + dt.timedelta(days=730)

    def expected(self, show_cancelled: bool) -> list[tuple[str, bool]]:
        """(UTC start, is cancelled) of every call in [now, now + 24 months), by the calendar
        rules alone (dateutil on New York wall-clock times), not by the app's own code."""
        old = du.rrule(
            du.MONTHLY,
            dtstart=dt.datetime.combine(self.first_date, dt.time(10)),
            byweekday=du.TU(2),
            until=dt.datetime.combine(self.change_date - DAY, dt.time.max),
        )
        new = du.rrule(
            du.MONTHLY,
            dtstart=dt.datetime.combine(self.change_date, dt.time(9)),
            byweekday=du.TH(-1),
            until=self.until.replace(tzinfo=None) + 2 * DAY,
        )
        starts = {instant(local, NEW_YORK) for local in [*old, *new]}
        starts.discard(self.moved_from)
        starts |= {self.moved_to, self.extra}
        if not show_cancelled:
            starts.discard(self.cancelled)
        return sorted(
            (start.isoformat(), start == self.cancelled)
            for start in starts
            if self.now <= start < self.until
        )


def _upcoming(session: Session, slug: str, after: dt.datetime) -> list[Call]:
    series = calls.find_series(session, slug)
    assert series is not None
    return [call for call in series.calls if call.start_at > after]


def _offset(moment: dt.datetime) -> dt.timedelta | None:
    return moment.astimezone(NEW_YORK).utcoffset()


def build_scenario(session: Session, now: dt.datetime) -> Scenario:
    """Create the scenario's series and calls (flushed, not committed)."""
    first_date = (now - dt.timedelta(days=120)).date()
    series = calls.create_series(
        session,
        calls.SeriesInput(
            title="Coalition check-in",
            timezone="America/New_York",
            start_time="10:00",
            rrule="FREQ=MONTHLY;BYDAY=2TU",
            first_date=first_date,
            join_url="https://meet.example.org/check-in",
            description="The monthly call of the whole coalition.",
        ),
        now=now,
    )
    slug = series.slug
    upcoming = _upcoming(session, slug, now + 3 * DAY)
    # The first call that moves to another UTC offset when moved two weeks on (or back).
    moved, target = None, None
    for call in upcoming:
        for shift in (14 * DAY, -14 * DAY):
            if _offset(call.start_at + shift) != _offset(call.start_at) and (
                call.start_at + shift > now + DAY
            ):
                moved, target = call, call.start_at.astimezone(NEW_YORK) + shift
                break
        if moved:
            break
    assert moved is not None and target is not None
    moved_from = moved.start_at
    calls.reschedule_call(session, moved, target.strftime("%Y-%m-%dT%H:%M"), now=now)
    cancelled = next(call for call in upcoming if call.id != moved.id)
    calls.cancel_call(session, cancelled, "Clashes with the summit", now=now)
    extra_local = (now + 17 * DAY).astimezone(BRUSSELS).replace(hour=15, minute=0)
    extra = calls.add_extra_call(
        session,
        title="Budget briefing",
        start=extra_local.strftime("%Y-%m-%dT%H:%M"),
        timezone="Europe/Brussels",
        now=now,
    )
    last_change = max(moved_from, moved.start_at, cancelled.start_at)
    change_date = last_change.astimezone(NEW_YORK).date() + 20 * DAY
    successor = calls.update_series(
        session,
        series,
        calls.SeriesInput(
            title="Coalition check-in",
            timezone="America/New_York",
            start_time="09:00",
            rrule="FREQ=MONTHLY;BYDAY=-1TH",
            first_date=first_date,
            join_url="https://meet.example.org/check-in",
        ),
        effective_from=change_date,
        now=now,
    )
    session.flush()
    return Scenario(
        now=now,
        first_date=first_date,
        slug=successor.slug,
        old_slug=series.slug,
        change_date=change_date,
        cancelled=cancelled.start_at,
        cancelled_id=cancelled.id,
        moved_from=moved_from,
        moved_to=moved.start_at,
        moved_id=moved.id,
        extra=extra.start_at,
        extra_id=extra.id,
    )


@dataclasses.dataclass
class Live:
    url: str
    app: Flask
    scenario: Scenario


@pytest.fixture(scope="session")
def live_feeds(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app with the scenario, on its own database of the session's backend, served on a
    loopback port in a thread."""
    RAN["backends"].add(backend)
    with fresh_database(backend, tmp_path_factory.mktemp(f"feeds-{backend}")) as url:
        app = make_app(url)
        migrate(app)
        with app.app_context():
            seed_regions(db.session)
            scenario = build_scenario(db.session, dt.datetime.now(dt.UTC).replace(microsecond=0))
            db.session.commit()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Live(f"http://127.0.0.1:{server.server_port}", app, scenario)
        finally:
            server.shutdown()
            thread.join()
            dispose(app)


def require_tool(path: Path | str | None, what: str) -> str:
    """The tool's path; a missing tool skips the test, except in CI where it must run."""
    found = str(path) if path and Path(path).exists() else None
    if found is None:
        message = f"{what} is not installed: `make feed-clients` (part of `make test`) installs it"
        if IN_CI:
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def node() -> str:
    require_tool(HERE / "js" / "node_modules" / "ical.js" / "package.json", "ical.js")
    return require_tool(shutil.which("node"), "node")


@pytest.fixture(scope="session")
def clients_python() -> str:
    return require_tool(CLIENTS_VENV / "bin" / "python", "the feed-clients virtualenv")
