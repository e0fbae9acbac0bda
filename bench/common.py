"""What the benchmark scripts share: fresh databases, and a page measured against a bare route.

Databases: the app on a database URL with the test settings, the schema built by the
migrations, and temporary PostgreSQL databases created and dropped on a server.

Pages (bench/calls.py's home page, bench/notes.py's note page): `measure_page` starts this file
as a subprocess, which builds the app from the environment, registers `/bare` returning the bytes
of a first GET of the page (which also fills the page cache before the workers fork) and serves
both with gunicorn (gthread, 2 workers x 4 threads) on a loopback port; 8 client threads on
persistent HTTP/1.1 connections alternate between the page and `/bare` in interleaved rounds
(ABBA order), after a second of warm-up, while the server's CPU time is sampled from /proc at
each slot boundary. `print_page` prints the figures bench/README.md describes.

Run directly only by `measure_page`:
    python bench/common.py PORT BODY_FILE DEADLINE PAGE
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from flask import Flask, Response, request

from app import create_app, testing
from app.cli import alembic_config
from app.db import db

ROOT = Path(__file__).resolve().parents[1]

WORKERS = 2
THREADS_PER_WORKER = 4
CLIENT_THREADS = 8
ROUNDS = 6
TARGET_RATIO = 0.8
BARE = "/bare"
WARMUP = 1.0  # seconds on both routes before the first slot


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


def temporary_postgres_database(server_url: str) -> contextlib.AbstractContextManager[str]:
    """A throwaway database on the server, named convene_bench_… (see app.testing)."""
    return testing.temporary_postgres_database(server_url, prefix="convene_bench")


# --- the command line ------------------------------------------------------------------------


def parse_arguments(doc: str, postgres_help: str) -> argparse.Namespace:
    """--seconds S (per route per round of the page figures) and --postgres URL."""
    parser = argparse.ArgumentParser(description=doc.split("\n", 1)[0])
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="seconds per route per round (default 3)"
    )
    parser.add_argument("--postgres", metavar="URL", help=postgres_help)
    return parser.parse_args()


def print_banner(name: str) -> None:
    print(
        f"Convene bench: {name} (Python {platform.python_version()}, SQLAlchemy "
        f"{sa.__version__}, {os.cpu_count()} CPUs)"
    )


# --- the server ------------------------------------------------------------------------------


def serve(port: int, body_file: str, deadline: int, page: str) -> None:
    """Run in a subprocess: the app (configured by the environment) under gunicorn.

    `/bare` is registered before the first request (Flask refuses routes after it); it returns
    the bytes of the first GET of `page` made here, which also fills the page cache before the
    workers fork, so every worker serves the cached page.
    """
    from gunicorn.app.base import BaseApplication

    # Whatever happens to the parent, stop by the deadline: the workers follow their master.
    signal.alarm(deadline)
    app = create_app()
    bare_body: list[bytes] = []

    @app.get(BARE)
    def bare() -> Response:
        if "If-None-Match" in request.headers:  # a revalidation (bench/feeds.py): nothing else
            return Response(status=304)
        return Response(bare_body[0], mimetype="text/html")

    response = app.test_client().get(page)
    if response.status_code != 200:
        raise SystemExit(f"GET {page} answered {response.status_code}")
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


def wait_ready(
    port: int, server: subprocess.Popen[bytes], log: Path, timeout: float, path: str = BARE
) -> None:
    """Wait until the server answers `path` with 200; SystemExit with its log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            if get(conn, path)[0] == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn gracefully (SIGTERM to its master), else kill its process group."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # workers left behind, if any
    server.wait()


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


# --- the load --------------------------------------------------------------------------------


def get(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """GET on a persistent connection, reconnecting once if the server closed it."""
    for attempt in (1, 2):
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


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


def run_load(
    port: int,
    routes: tuple[str, str],
    expected: bytes,
    seconds: float,
    group: int,
    headers: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[list[Slot], Checks]:
    """Each client thread follows the same schedule of slots: one route at a time, for all.
    Every request sends `headers`; every response must have `status` and the body `expected`."""
    slots = [
        Slot(route, number)
        for number in range(ROUNDS)
        for route in (routes if number % 2 == 0 else routes[::-1])
    ]
    per_thread: list[list[list[float]]] = [[[] for _ in slots] for _ in range(CLIENT_THREADS)]
    checks = Checks()
    start = time.monotonic() + 0.2 + WARMUP

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies = per_thread[number]
        try:
            while time.monotonic() < start:
                get(conn, routes[0], headers)
                get(conn, routes[1], headers)
            for index, slot in enumerate(slots):
                delay = start + index * seconds - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                slot_end = start + (index + 1) * seconds
                while (began := time.monotonic()) < slot_end:
                    answered, body = get(conn, slot.route, headers)
                    latencies[index].append(time.monotonic() - began)
                    if answered != status:
                        checks.fail(f"{slot.route} answered {answered}")
                    elif body != expected:
                        checks.fail(f"{slot.route}: the body differs from the first GET")
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


# --- a page against the bare route -----------------------------------------------------------


@dataclasses.dataclass
class PageRun:
    """What `measure_page` measured: the page's bytes, the slots, the checks, the client's CPU
    (fraction of one core), and gunicorn's exit (its status and the end of its log)."""

    page: str
    body: bytes
    slots: list[Slot]
    checks: Checks
    seconds: float
    client_cpu: float
    server_exit: str
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.checks.failures == 0


def start_server(arguments: list[str], database_url: str, log: Path) -> subprocess.Popen[bytes]:
    """Run `python ARGUMENTS` (a script that serves the app under gunicorn) on `database_url`,
    in a process group of its own, its output in `log`."""
    env = os.environ | {
        "DATABASE_URL": database_url,
        "CONVENE_ENV": "development",  # the page cache checks versions once a second
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, *arguments],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def measure_page(
    database_url: str,
    directory: Path,
    page: str,
    seconds: float,
    headers: dict[str, str] | None = None,
    status: int = 200,
) -> PageRun:
    """Serve the app on `database_url` under gunicorn and put `page` and `/bare` under load;
    with `headers` (an If-None-Match), both must answer `status` (304) with no body."""
    port = free_port()
    body_file, log = directory / "page.html", directory / "gunicorn.log"
    deadline = int(ROUNDS * 2 * seconds + 60)
    server = start_server(
        [__file__, str(port), str(body_file), str(deadline), page], database_url, log
    )
    try:
        wait_ready(port, server, log, timeout=30)
        expected = body_file.read_bytes() if status == 200 else b""
        client_cpu = time.process_time()
        wall = time.monotonic()
        slots, checks = run_load(
            port, (page, BARE), expected, seconds, server.pid, headers=headers, status=status
        )
        client_cpu = (time.process_time() - client_cpu) / (time.monotonic() - wall)
    finally:
        stop(server)
    server_exit = ""
    if server.returncode not in (0, None, -signal.SIGTERM):
        server_exit = f"gunicorn exited with {server.returncode}:\n{log.read_text()[-3000:]}"
    return PageRun(page, expected, slots, checks, seconds, client_cpu, server_exit, status)


def print_page(run: PageRun, name: str, target: float = TARGET_RATIO) -> None:
    """The figures of `run`, the page called `name` in the table, its ratio against `target`."""
    page, seconds = run.page, run.seconds
    names = {page: name, BARE: BARE}
    width = max(7, len(name) + 2)
    print(
        f"    {'route':<{width}}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'server CPU µs/req':>19}"
    )
    rates: dict[str, float] = {}
    cpu_per_request: dict[str, float] = {}
    for route in (page, BARE):
        mine = [slot for slot in run.slots if slot.route == route]
        latencies = [latency for slot in mine for latency in slot.latencies]
        count = len(latencies)
        rates[route] = count / (seconds * len(mine))
        cpu = [slot.server_cpu for slot in mine if slot.server_cpu is not None]
        if count and len(cpu) == len(mine):
            cpu_per_request[route] = sum(cpu) / count
        cpu_text = f"{cpu_per_request[route] * 1e6:,.0f}" if route in cpu_per_request else "n/a"
        p50 = percentile(latencies, 0.5) * 1000 if count else float("nan")
        p99 = percentile(latencies, 0.99) * 1000 if count else float("nan")
        print(
            f"    {names[route]:<{width}}{rates[route]:>12,.0f}{p50:>9.2f}{p99:>9.2f}{cpu_text:>19}"
        )
    ratio = rates[page] / rates[BARE] if rates[BARE] else 0.0
    verdict = "PASS" if ratio >= target else "BELOW"
    print(f"    ratio page/bare: {ratio:.3f} (target >= {target:.2f}: {verdict})")
    if cpu_per_request.get(page) and BARE in cpu_per_request:
        cpu_ratio = cpu_per_request[BARE] / cpu_per_request[page]
        print(f"    same ratio from server CPU per request (bare/page): {cpu_ratio:.3f}")
    per_round = []
    for number in range(ROUNDS):
        counts = {slot.route: len(slot.latencies) for slot in run.slots if slot.round == number}
        if counts.get(BARE):
            per_round.append(f"{counts[page] / counts[BARE]:.2f}")
    print(f"    per-round ratios: {' '.join(per_round)}")
    print(f"    load generator CPU: {run.client_cpu:.0%} of one core")
    checks = run.checks
    if checks.failures:
        print(
            f"    CHECK FAILED: {checks.failures} of {checks.responses:,} responses; first: "
            f"{checks.first_failure}"
        )
    else:
        expected = "the first GET's body" if run.body else "no body"
        print(f"    checks: {checks.responses:,} responses, all {run.status} with {expected}")
    if run.server_exit:
        print(f"  {run.server_exit}")


def describe_load(seconds: float) -> str:
    """How the page was served and loaded, for the line above its figures."""
    return (
        f"gunicorn gthread {WORKERS} workers x {THREADS_PER_WORKER} threads; {CLIENT_THREADS} "
        f"client threads on persistent connections; {ROUNDS} rounds x {seconds:g} s per route, "
        "interleaved"
    )


if __name__ == "__main__":
    port, body_file, deadline, page = sys.argv[1:]
    serve(int(port), body_file, int(deadline), page)
