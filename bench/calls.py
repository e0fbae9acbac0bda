"""Performance figures for Convene's calls: storing expanded series, and serving the home page.

Not a test: it asserts nothing about timing and prints figures to compare between runs, each
beside a reference measured in the same run on the same machine, so the ratios mean more than
the absolute numbers.

1. Expanding and storing series. On a fresh database whose schema is built by the migrations
   (SQLite in a temporary directory; also PostgreSQL with --postgres, in a temporary database
   created and dropped on that server), `services.create_series` creates 50 weekly series whose
   first date is 10 years ago, with a 12-month horizon, and the session commits: 28,700 calls.
   Printed: calls stored, seconds, calls/s; the time of the rule expansion alone; the reference,
   a single Core `executemany` of as many plain rows into the same `calls` table (inserted,
   timed, deleted again), as reference_time / our_time (1.0 would mean storing through the
   services costs no more than a bare bulk insert); and `services.generate_all` run again on the
   stored series (idempotent: 0 created), as the daily job runs it.

2. The upcoming-calls page (GET /, served from the page cache) against a bare Flask route on the
   same app returning the same bytes (`/bare`), both served by gunicorn (gthread, 2 workers x 4
   threads, on a loopback port) from a subprocess of this script. A load generator of 8 threads
   on persistent HTTP/1.1 connections (http.client) alternates between the routes in interleaved
   rounds (ABBA order) so drift affects both. Printed per route: requests/s, p50 and p99
   latency, server CPU per request (from /proc, all gunicorn processes); the ratio of page to
   bare requests/s against the target, and the same ratio from server CPU per request; the
   ratio round by round; the load generator's own CPU use (near 100% of one core means the
   client, not the server, limits the throughput and the ratio is flattened towards 1).
   Every response must be a 200 whose body equals the page fetched first; the script exits 1
   otherwise.

Usage (from the repository root):
    .venv/bin/python bench/calls.py [--seconds 3] [--postgres postgresql://postgres@127.0.0.1]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

# bench/common.py, beside this file (the script's directory is first on sys.path).
from common import (
    describe_load,
    dispose,
    make_app,
    measure_page,
    migrate,
    parse_arguments,
    print_banner,
    print_page,
    temporary_postgres_database,
)
from dateutil.relativedelta import relativedelta
from sqlalchemy import orm

from app.calls import services
from app.calls.models import Call, Series
from app.db import db, utcnow

SERIES_COUNT = 50
YEARS = 10
HORIZON_MONTHS = 12
ZONES = (
    "America/New_York",
    "Europe/Brussels",
    "Africa/Cairo",
    "Africa/Addis_Ababa",
    "Asia/Jakarta",
    "America/Sao_Paulo",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/Los_Angeles",
)
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

# --- 1. expanding and storing series ---------------------------------------------------------


def weekly_inputs(today: dt.date) -> list[services.SeriesInput]:
    """50 weekly series on various days, zones and times, first date 10 years ago."""
    first = today - relativedelta(years=YEARS)
    return [
        services.SeriesInput(
            title=f"Weekly call {number + 1}",
            timezone=ZONES[number % len(ZONES)],
            start_time=dt.time(7 + number % 12, 30 * (number % 2)),
            rrule=f"FREQ=WEEKLY;BYDAY={DAYS[number % len(DAYS)]}",
            first_date=first,
            duration_minutes=60 + 30 * (number % 2),
        )
        for number in range(SERIES_COUNT)
    ]


@dataclasses.dataclass
class StoreResult:
    calls: int
    seconds: float
    expansion_seconds: float
    reference_seconds: float
    regenerate_seconds: float
    regenerated: services.Generated


def store_series(database_url: str) -> StoreResult:
    app = make_app(database_url)
    try:
        migrate(app)
        with app.app_context():
            return _store_series(db.engine, db.sessionmaker)
    finally:
        dispose(app)


def _store_series(engine: sa.Engine, maker: orm.sessionmaker[orm.Session]) -> StoreResult:
    now = utcnow()
    inputs = weekly_inputs(now.date())

    with maker() as session:
        started = time.perf_counter()
        for data in inputs:
            services.create_series(session, data, now=now, horizon_months=HORIZON_MONTHS)
        session.commit()
        seconds = time.perf_counter() - started
        calls = session.scalar(sa.select(sa.func.count()).select_from(Call)) or 0

        # The rule expansion alone, as generate_calls does it (no database work).
        horizon = (now + relativedelta(months=HORIZON_MONTHS)).date()
        series_list = list(session.scalars(sa.select(Series)))
        started = time.perf_counter()
        for series in series_list:
            dict(series.timing.occurrences(until=horizon))
        expansion_seconds = time.perf_counter() - started

    reference_seconds = _reference_insert(engine)

    with maker() as session:
        started = time.perf_counter()
        regenerated = services.generate_all(session, now=now, horizon_months=HORIZON_MONTHS)
        session.commit()
        regenerate_seconds = time.perf_counter() - started
    return StoreResult(
        calls, seconds, expansion_seconds, reference_seconds, regenerate_seconds, regenerated
    )


def _reference_insert(engine: sa.Engine) -> float:
    """Seconds to insert as many plain rows as `calls` holds, with one executemany, and commit.

    The rows copy the stored calls (same types, same values) as extra calls of their series
    (no original start, so the unique constraint holds); they are deleted again afterwards.
    """
    table = Call.__table__
    columns = [column for column in table.columns if column.name != "id"]
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(sa.select(*columns)).mappings()]
    for row in rows:
        row["original_start_at"] = None
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.insert(table), rows)
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.original_start_at.is_(None)))
    return seconds


def print_store(label: str, result: StoreResult) -> None:
    rate = result.calls / result.seconds
    ratio = result.reference_seconds / result.seconds
    generated = result.regenerated
    print(f"  {label}")
    print(
        f"    create_series x {SERIES_COUNT} + commit: {result.calls:,} calls stored in "
        f"{result.seconds:.2f} s = {rate:,.0f} calls/s"
    )
    print(f"    of which rule expansion alone (no database): {result.expansion_seconds:.2f} s")
    print(
        f"    reference, one Core executemany of {result.calls:,} plain rows into calls + commit:"
        f" {result.reference_seconds:.2f} s; reference/ours = {ratio:.2f}"
    )
    print(
        f"    generate_all again (idempotent): {result.regenerate_seconds:.2f} s; "
        f"{generated.created} created, {generated.removed} removed, {generated.updated} updated"
    )


# --- 2. the home page under gunicorn ---------------------------------------------------------


def seed_home(database_url: str) -> int:
    """A migrated database with the default monthly series and three weekly ones."""
    app = make_app(database_url)
    try:
        migrate(app)
        with app.app_context(), db.sessionmaker() as session:
            now = utcnow()
            # From the day after tomorrow on: no listed call ends while the bench runs, so the
            # cached page stays valid throughout.
            first = now.date() + dt.timedelta(days=2)
            for title, zone, start, rule in (
                ("Coalition call", "America/New_York", "10:00", "FREQ=MONTHLY;BYDAY=2TU"),
                ("Africa regional call", "Africa/Cairo", "14:00", "FREQ=WEEKLY;BYDAY=WE"),
                ("Asia-Pacific call", "Asia/Jakarta", "09:00", "FREQ=WEEKLY;BYDAY=TH"),
                ("Europe call", "Europe/Brussels", "16:00", "FREQ=WEEKLY;BYDAY=MO"),
            ):
                data = services.SeriesInput(
                    title=title, timezone=zone, start_time=start, rrule=rule, first_date=first
                )
                services.create_series(session, data, now=now)
            session.commit()
            return len(services.upcoming_calls(session, now, limit=10))
    finally:
        dispose(app)


def bench_home(seconds: float) -> bool:
    """Figure 2; False if a response was not a 200 with the expected body."""
    with tempfile.TemporaryDirectory(prefix="convene-bench-") as directory:
        tmp = Path(directory)
        database_url = f"sqlite:///{tmp / 'home.sqlite3'}"
        listed = seed_home(database_url)
        run = measure_page(database_url, tmp, "/", seconds)
    print(f"  home page: {listed} calls listed, {len(run.body):,} bytes; {describe_load(seconds)}")
    print_page(run, "/")
    return run.ok


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    args = parse_arguments(__doc__, "also store series on this PostgreSQL server")
    print_banner("calls")
    print(
        f"1. Expanding and storing {YEARS} years of {SERIES_COUNT} weekly series "
        f"(horizon {HORIZON_MONTHS} months)"
    )
    with tempfile.TemporaryDirectory(prefix="convene-bench-") as directory:
        print_store("sqlite", store_series(f"sqlite:///{Path(directory) / 'store.sqlite3'}"))
    if args.postgres:
        with temporary_postgres_database(args.postgres) as url:
            print_store("postgresql", store_series(url))

    print("2. Upcoming-calls page (GET /) against a bare route returning the same bytes")
    return 0 if bench_home(args.seconds) else 1


if __name__ == "__main__":
    sys.exit(main())
