"""Load test: many concurrent clients against gunicorn and PostgreSQL, a realistic mix of requests.

Not a test of speed: it exits 1 on any error (a status other than 2xx or 304, a connection
error, a timeout), never on a slow figure. Loopback only; it stops by itself (the server has a
hard deadline as well) and removes its database, directory and processes.

Data: a fresh database on the PostgreSQL server (`convene_bench_…`, dropped afterwards), built
by the migrations, with `flask demo` (regions, the demo series, its notes) plus three series
whose first call was five years ago and a generated note of 400 to 800 words (bench/notes.py's
generator) for each of their past calls, up to --notes.

Server: deploy/gunicorn.conf.py, the production settings (sync workers, 2 x CPUs + 1 of them,
the app preloaded, one log line per request), on a free loopback port; --workers and --threads
change them (threads above 1 make gthread workers). The app is configured by the environment
as in development (the page cache checks the database once a second) with one route added for
the reference: `/bare` returns the home page's bytes as they were at start, doing nothing else.

Load: --clients asyncio clients in this process (HTTP/1.1 on raw sockets: a connection each,
kept alive while the server allows it; sync workers close it after each response, as nginx's
upstream connections are by default). Each client sends its next request as soon as the last one
is answered, choosing by weight (MIX): a feed poll (9 in 10 with If-None-Match and the feed's
current ETag, so mostly 304s), a search through /api/search or /search, a call's page, a note's
page, the home page. Phases, all clients together: warm-up (WARMUP s, not counted), /bare
(REFERENCE s), the mix (--seconds), /bare again (REFERENCE s). The reference is the mean of the
two /bare phases.

Printed per kind: requests/s, p50 and p99 latency, statuses; overall requests/s and as a ratio to
the reference's; the gunicorn processes' CPU per request (from /proc) for the mix and the
reference and their ratio; the load generator's CPU (near 100% of a core, the client limits the
figures).

Usage (from the repository root):
    .venv/bin/python bench/load.py [--clients 200] [--seconds 30] [--notes 250]
        [--workers N] [--threads N] [--postgres postgresql://postgres@127.0.0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import http.client
import itertools
import json
import os
import random
import signal
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path

# bench/common.py and bench/notes.py (its note generator), beside this file: the script's
# directory is first on sys.path (and gunicorn's, with --pythonpath bench).
import common
import sqlalchemy as sa
from flask import Flask, Response

import notes as note_files
from app import create_app
from app.calls import services as calls
from app.calls.models import Call, Series
from app.db import db, utcnow
from app.notes.models import Note, Update, update_regions, update_speakers
from app.notes.services import NoteInput, Tagging, save_note
from app.taxonomy.matching import region_matcher
from app.taxonomy.models import Person, Region

CLIENTS = 200
SECONDS = 30.0
WARMUP = 3.0
REFERENCE = 5.0  # seconds of /bare before and after the mix
NOTES = 250
TIMEOUT = 30.0  # seconds for one response: longer is an error
SEED = 20261201
BARE = "/bare"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"

# Relative weights: calendar clients poll feeds far more often than people read pages.
MIX = {
    "feed poll": 40,
    "search API": 10,
    "search page": 10,
    "call page": 15,
    "note page": 15,
    "home page": 10,
}
KINDS, CUMULATIVE = list(MIX), list(itertools.accumulate(MIX.values()))
CONDITIONAL = 0.9  # the share of feed polls sent with If-None-Match
SERIES = (
    ("Africa regional call", "Africa/Nairobi", "13:00", "FREQ=MONTHLY;BYDAY=1TH", "africa"),
    ("Latin America call", "America/Bogota", "09:00", "FREQ=MONTHLY;BYDAY=3WE", "latin-america"),
    ("Data working group", "Europe/London", "14:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", ""),
)
# Words of the generated notes: one word, two, a phrase; some with a region filter.
QUERIES = (
    "paralegals",
    "caseload",
    "evictions",
    "legal aid",
    '"mobile clinics"',
    "court monitoring",
    "hotline region:africa",
    "paralegals region:latin-america",
    "inheritance rights",
    "detention region:asia",
)


# --- the server (run by gunicorn in a subprocess) ---------------------------------------------


def served_app() -> Flask:
    """The app as gunicorn serves it here (`load:served_app()`), with the reference route.

    Preloaded in the master: every path of BENCH_PATHS is fetched once before the workers
    fork, so that each starts with the page cache filled (the figures are for a warm cache)."""
    deadline = int(os.environ.get("BENCH_DEADLINE", "0"))
    if deadline:
        signal.alarm(deadline)  # the master dies then, and its workers follow
    app = create_app()
    body: list[bytes] = []

    @app.get(BARE)
    def bare() -> Response:
        return Response(body[0], mimetype="text/html")

    client = app.test_client()
    body.append(client.get("/").get_data())
    for path in Path(os.environ.get("BENCH_PATHS", os.devnull)).read_text().split():
        client.get(path)
    return app


# --- the data --------------------------------------------------------------------------------


@dataclasses.dataclass
class Target:
    path: str
    etag: str = ""  # a feed's, for If-None-Match


@dataclasses.dataclass
class Data:
    summary: str
    paths: dict[str, list[str]]  # by kind


def seed(url: str, note_count: int) -> Data:
    """`flask demo`, three series over five years, a note for each past call; the targets."""
    app = common.make_app(url)
    common.migrate(app)
    try:
        demo = app.test_cli_runner().invoke(args=["demo"])
        if demo.exit_code != 0:
            raise SystemExit(f"flask demo failed:\n{demo.output}")
        with app.app_context():
            started = time.perf_counter()
            added = add_series_and_notes(note_count)
            seconds = time.perf_counter() - started
            paths = collect_paths()
            summary = describe_data(seconds, added)
    finally:
        common.dispose(app)
    return Data(summary, paths)


def add_series_and_notes(note_count: int) -> int:
    session = db.session
    now = utcnow()
    first = now.date().replace(year=now.year - 5)
    series = [
        calls.create_series(
            session,
            calls.SeriesInput(
                title=title,
                timezone=zone,
                start_time=start,
                rrule=rule,
                first_date=first,
                region=region,
            ),
            now=now,
        )
        for title, zone, start, rule, region in SERIES
    ]
    session.commit()
    past = [
        call
        for made in series
        for call in calls.past_calls(session, now, limit=1000, series=made, status="scheduled")
    ]
    rng = random.Random(SEED)
    rng.shuffle(past)
    tree = note_files.region_names(session)
    tagging = Tagging(session, region_matcher(session))
    for number, call in enumerate(past[:note_count]):
        data = NoteInput(
            title=f"{call.display_title}, {call.start_at:%d %B %Y}",
            body=note_files.note_body(rng, tree, pasted=number % 2 == 1),
            status="published",
            language=rng.choice(note_files.LANGUAGES),
            call_id=call.id,
            slug=f"load-{number + 1:04d}",
        )
        save_note(session, data, now=call.end_at + dt.timedelta(days=1), tagging=tagging)
        if number % 50 == 49:
            session.commit()
    session.commit()
    return min(note_count, len(past))


def collect_paths() -> dict[str, list[str]]:
    """Every path the clients ask for, by kind."""
    session = db.session
    now = utcnow()
    tagged = sa.func.count(update_regions.c.update_id)
    regions = session.scalars(
        sa.select(Region.slug).join(update_regions).group_by(Region.slug).order_by(tagged.desc())
    ).all()[:6]
    spoke = sa.func.count(update_speakers.c.update_id)
    handles = session.scalars(
        sa.select(Person.handle)
        .join(update_speakers)
        .group_by(Person.handle)
        .order_by(spoke.desc())
    ).all()[:5]
    series = session.scalars(sa.select(Series.slug)).all()
    feeds = ["/calendar.ics", "/notes.atom"]
    feeds += [f"/series/{slug}.ics" for slug in series]
    feeds += [f"/regions/{slug}.{kind}" for slug in regions for kind in ("ics", "atom")]
    feeds += [f"/people/{urllib.parse.quote(handle)}.atom" for handle in handles]
    rng = random.Random(SEED)
    upcoming = session.scalars(sa.select(Call.id).where(Call.start_at > now)).all()
    recent = session.scalars(sa.select(Note.call_id).where(Note.call_id.is_not(None))).all()
    call_ids = rng.sample(upcoming, min(30, len(upcoming))) + rng.sample(
        recent, min(30, len(recent))
    )
    note_slugs = session.scalars(sa.select(Note.slug).where(Note.status == "published")).all()
    return {
        "feed poll": feeds,
        "search API": [f"/api/search?{urllib.parse.urlencode({'q': q})}" for q in QUERIES],
        "search page": [f"/search?{urllib.parse.urlencode({'q': q})}" for q in QUERIES],
        "call page": [f"/calls/{call_id}" for call_id in call_ids],
        "note page": [f"/notes/{slug}" for slug in note_slugs],
        "home page": ["/"],
    }


def check_targets(port: int, paths: dict[str, list[str]]) -> dict[str, list[Target]]:
    """Each path once from the server: a 200 (a search that finds something), and the feeds'
    ETags as the server makes them. SystemExit if any is not right: the data would be wrong."""
    targets: dict[str, list[Target]] = {}
    for kind, kind_paths in paths.items():
        for path in kind_paths:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
            finally:
                connection.close()
            if response.status != 200:
                raise SystemExit(f"{path} answered {response.status}: the data is not right")
            if kind == "search API" and not json.loads(body)["total"]:
                raise SystemExit(f"{path} found nothing: the data is not right")
            targets.setdefault(kind, []).append(Target(path, response.getheader("ETag") or ""))
    return targets


def describe_data(seconds: float, notes_added: int) -> str:
    session = db.session
    count = {
        name: session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
        for name, model in (("series", Series), ("calls", Call), ("notes", Note))
    }
    updates = session.scalar(sa.select(sa.func.count()).select_from(Update)) or 0
    version = session.scalar(sa.text("SHOW server_version"))
    return (
        f"PostgreSQL {version}; {count['series']} series, {count['calls']:,} calls, "
        f"{count['notes']} notes ({notes_added} generated in {seconds:.1f} s), {updates:,} updates"
    )


# --- the clients -----------------------------------------------------------------------------


class Connection:
    """One client's HTTP/1.1 connection to the server, opened again whenever the server closed
    it (sync workers close each one after the response)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def get(self, path: str, headers: str) -> int:
        """The response's status, its body read to the end."""
        reused = self.writer is not None
        try:
            return await self._exchange(path, headers)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if not reused:
                raise
        # A kept-alive connection the server had closed in the meantime: once more, on a new one.
        return await self._exchange(path, headers)

    async def _exchange(self, path: str, headers: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode())
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("closed before the response")
        status = int(status_line.split(b" ", 2)[1])
        length: int | None = None
        chunked = close = False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                close = value == b"close"
        if chunked:
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        elif length is not None:
            await self.reader.readexactly(length)
        elif status not in (204, 304):  # no length: the body ends with the connection
            await self.reader.read()
            close = True
        if close:
            self.close()
        return status


@dataclasses.dataclass
class Phase:
    name: str
    start: float
    end: float


@dataclasses.dataclass
class Tally:
    """What the clients saw in one phase, by kind."""

    latencies: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    statuses: dict[str, Counter[int]] = dataclasses.field(default_factory=dict)

    def add(self, kind: str, status: int, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.statuses.setdefault(kind, Counter())[status] += 1


@dataclasses.dataclass
class Errors:
    count: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.examples) < 5:
            self.examples.append(message)


def choose(rng: random.Random, targets: dict[str, list[Target]]) -> tuple[str, str, str]:
    """(kind, path, extra headers) of a client's next request in the mix."""
    kind = rng.choices(KINDS, cum_weights=CUMULATIVE)[0]
    target = rng.choice(targets[kind])
    if kind == "feed poll" and target.etag and rng.random() < CONDITIONAL:
        return kind, target.path, f"If-None-Match: {target.etag}\r\n"
    return kind, target.path, ""


async def client(
    number: int,
    port: int,
    phases: list[Phase],
    targets: dict[str, list[Target]],
    tallies: dict[str, Tally],
    errors: Errors,
) -> None:
    rng = random.Random(SEED + number)
    connection = Connection(port)
    try:
        for phase in phases:
            await asyncio.sleep(max(0.0, phase.start - time.monotonic()))
            while (began := time.monotonic()) < phase.end:
                if phase.name == "reference":
                    kind, path, headers = "bare", BARE, ""
                else:
                    kind, path, headers = choose(rng, targets)
                try:
                    status = await asyncio.wait_for(connection.get(path, headers), TIMEOUT)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                    connection.close()
                    errors.add(f"{phase.name}: {path}: {exc!r}")
                    continue
                if not (200 <= status < 300 or status == 304):
                    errors.add(f"{phase.name}: {path} answered {status}")
                tallies[phase.name].add(kind, status, time.monotonic() - began)
    finally:
        connection.close()


@dataclasses.dataclass
class Run:
    phases: list[Phase]
    tallies: dict[str, Tally]
    errors: Errors
    server_cpu: dict[str, float | None]  # by phase name: gunicorn's CPU seconds
    client_cpu: float  # fraction of one core during the mix


async def run_load(
    port: int, clients: int, seconds: float, targets: dict[str, list[Target]], group: int
) -> Run:
    at = time.monotonic() + 0.5
    phases = []
    for name, length in (
        ("warm-up", WARMUP),
        ("reference", REFERENCE),
        ("mix", seconds),
        ("reference", REFERENCE),
    ):
        phases.append(Phase(name, at, at + length))
        at += length
    tallies = {"warm-up": Tally(), "reference": Tally(), "mix": Tally()}
    errors = Errors()
    tasks = [
        asyncio.create_task(client(n, port, phases, targets, tallies, errors))
        for n in range(clients)
    ]
    server_cpu: dict[str, float | None] = {"reference": 0.0, "mix": None}
    client_cpu = 0.0
    for phase in phases:
        await asyncio.sleep(max(0.0, phase.start - time.monotonic()))
        cpu_before, client_before = common.group_cpu_seconds(group), time.process_time()
        await asyncio.sleep(max(0.0, phase.end - time.monotonic()))
        cpu_after = common.group_cpu_seconds(group)
        used = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        if phase.name == "mix":
            server_cpu["mix"] = used
            client_cpu = (time.process_time() - client_before) / (phase.end - phase.start)
        elif phase.name == "reference":
            previous = server_cpu["reference"]
            server_cpu["reference"] = None if used is None or previous is None else previous + used
    await asyncio.gather(*tasks)
    return Run(phases, tallies, errors, server_cpu, client_cpu)


# --- the figures -----------------------------------------------------------------------------


def print_figures(run: Run, seconds: float) -> None:
    mix, reference = run.tallies["mix"], run.tallies["reference"]
    print(f"    {'kind':<14}{'share':>7}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}   statuses")
    total = sum(len(values) for values in mix.latencies.values())
    for kind in [*MIX, "all"]:
        if kind == "all":
            latencies = [value for values in mix.latencies.values() for value in values]
            statuses = sum(mix.statuses.values(), Counter())
        else:
            latencies, statuses = mix.latencies.get(kind, []), mix.statuses.get(kind, Counter())
        print_row(kind, latencies, statuses, seconds, total)
    bare = reference.latencies.get("bare", [])
    print_row(f"{BARE} (ref.)", bare, reference.statuses.get("bare", Counter()), 2 * REFERENCE, 0)
    rate, bare_rate = total / seconds, len(bare) / (2 * REFERENCE)
    if bare_rate:
        print(f"    ratio mix/bare, requests/s: {rate / bare_rate:.3f}")
    cpu_mix, cpu_bare = run.server_cpu["mix"], run.server_cpu["reference"]
    if cpu_mix and cpu_bare and total and bare:
        per_mix, per_bare = cpu_mix / total, cpu_bare / len(bare)
        print(
            f"    gunicorn CPU per request: mix {per_mix * 1e6:,.0f} µs, {BARE} "
            f"{per_bare * 1e6:,.0f} µs; ratio bare/mix {per_bare / per_mix:.3f} "
            f"(PostgreSQL's CPU not included)"
        )
    print(f"    load generator CPU: {run.client_cpu:.0%} of one core")
    warmup = sum(len(values) for values in run.tallies["warm-up"].latencies.values())
    print(f"    warm-up: {warmup:,} responses, not counted above")
    if run.errors.count:
        print(f"    ERRORS: {run.errors.count}; first: {'; '.join(run.errors.examples)}")
    else:
        print("    errors: 0 (every response 2xx or 304, no connection error or timeout)")


def print_row(
    kind: str, latencies: list[float], statuses: Counter[int], seconds: float, total: int
) -> None:
    count = len(latencies)
    share = f"{count / total:.0%}" if total and kind != "all" else ""
    p50 = common.percentile(latencies, 0.5) * 1000 if count else float("nan")
    p99 = common.percentile(latencies, 0.99) * 1000 if count else float("nan")
    codes = " ".join(f"{code}: {n:,}" for code, n in sorted(statuses.items()))
    print(f"    {kind:<14}{share:>7}{count / seconds:>12,.0f}{p50:>9.1f}{p99:>9.1f}   {codes}")


# --- main ------------------------------------------------------------------------------------


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=CLIENTS, help=f"default {CLIENTS}")
    parser.add_argument("--seconds", type=float, default=SECONDS, help=f"default {SECONDS:g}")
    parser.add_argument("--notes", type=int, default=NOTES, help=f"default {NOTES}")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default 2 x CPUs + 1)")
    parser.add_argument("--threads", type=int, default=1, help="per worker (default 1: sync)")
    parser.add_argument("--postgres", metavar="URL", default=DEFAULT_POSTGRES)
    return parser.parse_args()


def main() -> int:
    arguments = parse_arguments()
    common.print_banner("load")
    print(f"  command: {' '.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}")
    workers = arguments.workers or 2 * (os.cpu_count() or 1) + 1
    with (
        common.temporary_postgres_database(arguments.postgres) as url,
        tempfile.TemporaryDirectory(prefix="convene-load-") as directory,
    ):
        data = seed(url, arguments.notes)
        print(f"  data: {data.summary}")
        counts = ", ".join(f"{kind}: {len(paths)}" for kind, paths in data.paths.items())
        print(f"  paths: {counts}")
        port = common.free_port()
        deadline = int(WARMUP + 2 * REFERENCE + arguments.seconds + 120)
        os.environ |= {
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(arguments.threads),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "BENCH_DEADLINE": str(deadline),
        }
        log, path_list = Path(directory) / "gunicorn.log", Path(directory) / "paths.txt"
        path_list.write_text("\n".join(path for paths in data.paths.values() for path in paths))
        os.environ["BENCH_PATHS"] = str(path_list)
        command = ["-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--pythonpath", "bench"]
        server = common.start_server([*command, "load:served_app()"], url, log)
        try:
            common.wait_ready(port, server, log, timeout=120)
            targets = check_targets(port, data.paths)
            kind = f"gthread, {arguments.threads} threads each" if arguments.threads > 1 else "sync"
            print(
                f"  gunicorn (deploy/gunicorn.conf.py): {workers} workers ({kind}); "
                f"{arguments.clients} clients (asyncio, HTTP/1.1); warm-up {WARMUP:g} s, "
                f"{BARE} {REFERENCE:g} s, mix {arguments.seconds:g} s, {BARE} {REFERENCE:g} s"
            )
            run = asyncio.run(
                run_load(port, arguments.clients, arguments.seconds, targets, server.pid)
            )
        finally:
            common.stop(server)
        print_figures(run, arguments.seconds)
        if server.returncode not in (0, -signal.SIGTERM):
            print(f"  gunicorn exited with {server.returncode}:\n{log.read_text()[-3000:]}")
    return 1 if run.errors.count else 0


if __name__ == "__main__":
    sys.exit(main())
