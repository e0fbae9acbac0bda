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

import argparse
import contextlib
import dataclasses
import datetime as dt
import http.client
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from dateutil.relativedelta import relativedelta
from flask import Flask, Response
from sqlalchemy import orm

from app import create_app
from app.calls import services
from app.calls.models import Call, Series
from app.cli import alembic_config
from app.db import db, utcnow

ROOT = Path(__file__).resolve().parents[1]

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

WORKERS = 2
THREADS_PER_WORKER = 4
CLIENT_THREADS = 8
ROUNDS = 6
TARGET_RATIO = 0.8
ROUTES = ("/", "/bare")


# --- databases -------------------------------------------------------------------------------


def make_app(database_url: str) -> Flask:
    """The app on `database_url` with the test settings (no outbound side effects)."""
    return create_app({"DATABASE_URL": database_url})


def migrate(app: Flask) -> None:
    """Build the schema by running the migrations, as tests/conftest.py does."""
    with app.app_context(), db.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def dispose(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


@contextlib.contextmanager
def temporary_postgres_database(server_url: str) -> Iterator[str]:
    """Create a fresh database on the server, yield its URL, drop it afterwards."""
    url = sa.make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"convene_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise SystemExit(f"PostgreSQL at {url.host}:{url.port} is unreachable: {exc}") from exc
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


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


def serve(port: int, body_file: str, deadline: int) -> None:
    """Run in a subprocess: the app (configured by the environment) under gunicorn.

    `/bare` is registered before the first request (Flask refuses routes after it); it returns
    the bytes of the first GET / made here, which also fills the page cache before the workers
    fork, so every worker serves the cached page.
    """
    from gunicorn.app.base import BaseApplication

    # Whatever happens to the parent, stop by the deadline: the workers follow their master.
    signal.alarm(deadline)
    app = create_app()
    bare_body: list[bytes] = []

    @app.get("/bare")
    def bare() -> Response:
        return Response(bare_body[0], mimetype="text/html")

    response = app.test_client().get("/")
    if response.status_code != 200:
        raise SystemExit(f"GET / answered {response.status_code}")
    bare_body.append(response.get_data())
    Path(body_file).write_bytes(bare_body[0])
    dispose(app)  # no connection crosses the fork

    class Server(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"127.0.0.1:{port}",
                "workers": WORKERS,
                "threads": THREADS_PER_WORKER,
                "worker_class": "gthread",
                "preload_app": True,
                "keepalive": 30,
                "graceful_timeout": 3,
                "loglevel": "warning",
                "accesslog": None,
                "errorlog": "-",
            }
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self) -> Flask:
            return app

    Server().run()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    """GET on a persistent connection, reconnecting once if the server closed it."""
    for attempt in (1, 2):
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def wait_ready(port: int, server: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            if get(conn, "/bare")[0] == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def group_cpu_seconds(group: int) -> float | None:
    """User + system CPU seconds of the live processes in a process group (Linux /proc)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for name in names:
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[2]) == group:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


@dataclasses.dataclass
class Slot:
    route: str
    round: int
    latencies: list[float] = dataclasses.field(default_factory=list)
    server_cpu: float | None = None


@dataclasses.dataclass
class Checks:
    responses: int = 0
    failures: int = 0
    first_failure: str = ""
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures += 1
            self.first_failure = self.first_failure or message


def run_load(port: int, expected: bytes, seconds: float, group: int) -> tuple[list[Slot], Checks]:
    """Each client thread follows the same schedule of slots: one route at a time, for all."""
    slots = [
        Slot(route, number)
        for number in range(ROUNDS)
        for route in (ROUTES if number % 2 == 0 else ROUTES[::-1])
    ]
    per_thread: list[list[list[float]]] = [[[] for _ in slots] for _ in range(CLIENT_THREADS)]
    checks = Checks()
    warmup = 1.0
    start = time.monotonic() + 0.2 + warmup

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies = per_thread[number]
        try:
            warmup_end = start
            while time.monotonic() < warmup_end:
                get(conn, ROUTES[0])
                get(conn, ROUTES[1])
            for index, slot in enumerate(slots):
                delay = start + index * seconds - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                slot_end = start + (index + 1) * seconds
                while (began := time.monotonic()) < slot_end:
                    status, body = get(conn, slot.route)
                    latencies[index].append(time.monotonic() - began)
                    if status != 200:
                        checks.fail(f"{slot.route} answered {status}")
                    elif body != expected:
                        checks.fail(f"{slot.route} body differs from the first GET /")
        except Exception as exc:
            checks.fail(f"client {number}: {exc!r}")
        finally:
            conn.close()

    threads = [
        threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENT_THREADS)
    ]
    for thread in threads:
        thread.start()
    # Sample the server's CPU time at each slot boundary.
    cpu_marks = []
    for index in range(len(slots) + 1):
        delay = start + index * seconds - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        cpu_marks.append(group_cpu_seconds(group))
    for thread in threads:
        thread.join(timeout=seconds + 15)
    for index, slot in enumerate(slots):
        for latencies in per_thread:
            slot.latencies.extend(latencies[index])
        before, after = cpu_marks[index], cpu_marks[index + 1]
        if before is not None and after is not None:
            slot.server_cpu = after - before
    checks.responses = sum(len(slot.latencies) for slot in slots)
    return slots, checks


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bench_home(seconds: float) -> bool:
    """Figure 2; False if a response was not a 200 with the expected body."""
    with tempfile.TemporaryDirectory(prefix="convene-bench-") as directory:
        tmp = Path(directory)
        database_url = f"sqlite:///{tmp / 'home.sqlite3'}"
        listed = seed_home(database_url)
        port = free_port()
        body_file, log = tmp / "home.html", tmp / "gunicorn.log"
        env = os.environ | {
            "DATABASE_URL": database_url,
            "CONVENE_ENV": "development",
            "PYTHONUNBUFFERED": "1",
        }
        deadline = int(ROUNDS * len(ROUTES) * seconds + 60)
        command_line = [sys.executable, __file__, "--serve", str(port), str(body_file)]
        command_line += [str(deadline)]
        with log.open("wb") as log_file:
            server = subprocess.Popen(
                command_line,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_ready(port, server, log, timeout=30)
            expected = body_file.read_bytes()
            client_cpu = time.process_time()
            wall = time.monotonic()
            slots, checks = run_load(port, expected, seconds, group=server.pid)
            client_cpu = (time.process_time() - client_cpu) / (time.monotonic() - wall)
        finally:
            stop(server)
        print_home(slots, checks, seconds, listed, len(expected), client_cpu)
        if server.returncode not in (0, None):
            print(f"  gunicorn exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        return checks.failures == 0


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn gracefully (SIGTERM to its master), else kill its process group."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # workers left behind, if any
    server.wait()


def print_home(
    slots: list[Slot],
    checks: Checks,
    seconds: float,
    listed: int,
    size: int,
    client_cpu: float,
) -> None:
    print(
        f"  home page: {listed} calls listed, {size:,} bytes; gunicorn gthread {WORKERS} workers"
        f" x {THREADS_PER_WORKER} threads; {CLIENT_THREADS} client threads on persistent"
        f" connections; {ROUNDS} rounds x {seconds:g} s per route, interleaved"
    )
    print(f"    {'route':<7}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'server CPU µs/req':>19}")
    rates: dict[str, float] = {}
    cpu_per_request: dict[str, float] = {}
    for route in ROUTES:
        mine = [slot for slot in slots if slot.route == route]
        latencies = [latency for slot in mine for latency in slot.latencies]
        count = len(latencies)
        rates[route] = count / (seconds * len(mine))
        cpu = [slot.server_cpu for slot in mine if slot.server_cpu is not None]
        if count and len(cpu) == len(mine):
            cpu_per_request[route] = sum(cpu) / count
        cpu_text = f"{cpu_per_request[route] * 1e6:,.0f}" if route in cpu_per_request else "n/a"
        p50 = percentile(latencies, 0.5) * 1000 if count else float("nan")
        p99 = percentile(latencies, 0.99) * 1000 if count else float("nan")
        print(f"    {route:<7}{rates[route]:>12,.0f}{p50:>9.2f}{p99:>9.2f}{cpu_text:>19}")
    page, bare = ROUTES
    ratio = rates[page] / rates[bare] if rates[bare] else 0.0
    verdict = "PASS" if ratio >= TARGET_RATIO else "BELOW"
    print(f"    ratio page/bare: {ratio:.3f} (target >= {TARGET_RATIO:.2f}: {verdict})")
    if cpu_per_request.get(page) and bare in cpu_per_request:
        cpu_ratio = cpu_per_request[bare] / cpu_per_request[page]
        print(f"    same ratio from server CPU per request (bare/page): {cpu_ratio:.3f}")
    per_round = []
    for number in range(ROUNDS):
        counts = {slot.route: len(slot.latencies) for slot in slots if slot.round == number}
        if counts.get(ROUTES[1]):
            per_round.append(f"{counts[ROUTES[0]] / counts[ROUTES[1]]:.2f}")
    print(f"    per-round ratios: {' '.join(per_round)}")
    print(f"    load generator CPU: {client_cpu:.0%} of one core")
    if checks.failures:
        print(
            f"    CHECK FAILED: {checks.failures} of {checks.responses:,} responses; first: "
            f"{checks.first_failure}"
        )
    else:
        print(f"    checks: {checks.responses:,} responses, all 200 with the first GET /'s body")


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="seconds per route per round (default 3)"
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="also store series on this PostgreSQL server"
    )
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        port, body_file, deadline = args.serve
        serve(int(port), body_file, int(deadline))
        return 0

    print(
        f"Convene bench: calls (Python {platform.python_version()}, SQLAlchemy "
        f"{sa.__version__}, {os.cpu_count()} CPUs)"
    )
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
