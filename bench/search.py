"""Performance figures for Convene's search: the service and `GET /api/search` against raw queries.

Not a test: it asserts nothing about timing and prints figures to compare between runs, each
beside a reference measured in the same run on the same machine, so the ratios mean more than
the absolute numbers.

Data: N generated updates (default 100,000; about 600 words each) in notes of 8 updates, one note
per weekly call of 24 series over 10 years, tagged with 16 regions (countries and sub-regions of
several continents) and 300 speakers. The text comes from a fixed seed: sentences drawn from a
vocabulary with Zipf-like frequencies (stop words first, a few hundred domain words, accented
words, thousands of rarer made-up words), with the update's region names and @handles in it.
The rows are inserted in bulk with SQLAlchemy Core into a database whose schema is built by the
migrations (region tree seeded as the app seeds it), then `app.search.documents.reindex_all`
builds the index, timed. The SQLite database is kept between runs in the temporary directory,
keyed by the parameters and the migrations (`--fresh` ignores it, `--clean` deletes them); its
index is built again when app/search/documents.py or the backends' `add` changed.

For each query (1 word, 2 words, a phrase, a word found in nearly every update; each without
and with a region filter), interleaved for a few seconds:
- reference: the best hand-written query for the same terms returning the same page (20 ids
  in the same order, with the same highlighted titles and snippets): raw FTS5 on SQLite, a
  tsvector query on PostgreSQL; the fastest of two formulations by median;
- service: `app.search.services.search` in-process, with facets, as the API calls it, in a
  fresh session each time;
- API: `GET /api/search` over HTTP on loopback, served by gunicorn (1 sync worker) from a
  subprocess, one request at a time on a persistent connection;
- reference over HTTP: the reference query run by a bare route of the same server (`/bench/raw`,
  registered by this script alone), its rows as JSON: what HTTP, gunicorn and Flask cost the
  API whatever the search does.
Printed: p50 and p95 in ms, and each as a ratio to the reference's (p50/p50, p95/p95); the API's
p95 also as a ratio to the reference over HTTP. The
service's page must be the reference's page, and the API's ids the service's; the script exits 1
otherwise, never for a slow figure.

Usage (from the repository root):
    .venv/bin/python bench/search.py [--updates 100000] [--postgres postgresql://postgres@127.0.0.1]
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import http.client
import inspect
import itertools
import json
import os
import platform
import random
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

# bench/common.py, beside this file (the script's directory is first on sys.path).
from common import (
    dispose,
    free_port,
    get,
    make_app,
    migrate,
    percentile,
    start_server,
    stop,
    temporary_postgres_database,
    wait_ready,
)
from flask import Flask, Response, jsonify, request

from app import create_app
from app.calls.models import Call, Series
from app.db import db
from app.notes.models import Note, Update, update_regions, update_speakers
from app.search import backends, documents, services
from app.search.backends import MARK_END, MARK_START, SNIPPET_WORDS
from app.taxonomy.models import Person, Region
from app.taxonomy.services import seed_regions
from config import Config

ROOT = Path(__file__).resolve().parents[1]

DATA_VERSION = 1
YEARS = 10
SERIES_COUNT = 24
UPDATES_PER_NOTE = 8
PEOPLE = 300
PER_PAGE = services.PER_PAGE
TARGET_RATIO = 1.5
RAW_HTTP = "/bench/raw"
TARGET_MS = 25.0
CACHE_PREFIX = "convene-bench-search-"
CACHE_CHECK_SECONDS = Config.CACHE_CHECK_SECONDS
ZONES = ("America/New_York", "Europe/Brussels", "Africa/Nairobi", "Asia/Jakarta", "UTC")

# Regions the updates report on (slugs of the seeded tree), most reported first.
TAGGED = (
    "kenya", "east-and-horn-of-africa", "brazil", "india", "west-africa", "nigeria",
    "south-america", "indonesia", "southeast-asia", "mexico", "philippines", "western-europe",
    "colombia", "south-africa", "south-asia", "central-america",
)  # fmt: skip
FILTER_REGION = "africa"  # a continent: the updates tagged with its countries and sub-regions

STOPWORDS = (  # noqa: SIM905
    "the of and to in a is that for on with as was by at from it be this are we have will has"
    " which their an or were been not but they its our also more all can there these one who"
    " de la el en y que los del las por le les des et du"
).split()
DOMAIN = (  # noqa: SIM905
    "campaign coalition update government partners meeting report work members support rights"
    " community law women network regional national funding training local policy workshop"
    " access justice public research civil society advocacy project process team program data"
    " council ministry court health land water climate youth budget media response reform"
    " communities organisations election commission agreement elections strategy review"
    " monitoring legal aid draft bill parliament consultation security education citizens"
    " budgets digital platform accountability transparency grant donors protection defenders"
    " housing workers union evictions indigenous forest mining litigation hearing"
    " ruling appeal petition coalitions dialogue assembly mandate declaration treaty"
    " summit follow-up webinar survey toolkit guidelines fellowship mentoring volunteers"
    " translation interpreters paralegals"
).split()
ACCENTED = (  # noqa: SIM905
    "protección participación société négociation política informação comunicação défense"
    " réunion acción educação região Escazú São Bogotá Yaoundé Brasília Lomé Conakry"
    " organização coordinación évaluation"
).split()
SYLLABLES = "ka lo mi ne ru sa ti vo ba de fi gu ha je ko lu ma no pe ri su ta vi wo ya zu"

# The queries: words chosen at ranks that give them the intended frequency (see vocabulary()).
PINNED = {"paralegals": 2500, "mining": 1200, "litigation": 1500, "campaign": 3}
PHRASE = ("legal", "aid")  # both common words; the phrase replaces a word in 0.4% of sentences
QUERIES = (
    ("1 word", "paralegals"),
    ("2 words", "mining litigation"),
    ("phrase", '"legal aid"'),
    ("common word", "campaign"),
)


# --- data ------------------------------------------------------------------------------------


def vocabulary(rng: random.Random, size: int = 30000) -> tuple[list[str], list[float]]:
    """Words in rank order and their cumulative Zipf-Mandelbrot weights."""
    made_up: list[str] = []
    seen: set[str] = set()
    while len(made_up) < size:
        word = "".join(rng.choice(SYLLABLES.split()) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            made_up.append(word)
    pinned = set(PINNED)
    rest = [w for w in DOMAIN if w not in pinned] + [w.lower() for w in ACCENTED]
    rng.shuffle(rest)
    words = list(STOPWORDS)
    # Domain and accented words among the first few hundred ranks, made-up words after them.
    for index, word in enumerate(rest):
        words.append(word)
        if index % 2:
            words.append(made_up.pop())
    words += made_up[: size - len(words)]
    for word, rank in sorted(PINNED.items(), key=lambda item: item[1]):
        words.insert(rank, word)
    cumulative, total = [], 0.0
    for rank in range(len(words)):
        total += 1.0 / (rank + 2.7)
        cumulative.append(total)
    return words, cumulative


def sentence_pool(rng: random.Random, count: int = 40000) -> list[str]:
    words, cumulative = vocabulary(rng)
    total = cumulative[-1]
    accented = {w.lower(): w for w in ACCENTED}
    pool = []
    for _ in range(count):
        length = rng.randint(6, 24)
        chosen = [words[bisect.bisect(cumulative, rng.random() * total)] for _ in range(length)]
        chosen = [accented.get(word, word) for word in chosen]
        if rng.random() < 0.004:
            at = rng.randrange(length)
            chosen[at : at + 1] = list(PHRASE)
        chosen[0] = chosen[0].capitalize()
        pool.append(" ".join(chosen) + ".")
    return pool


@dataclasses.dataclass
class Tables:
    """Ids of the rows the generated notes refer to."""

    regions: list[tuple[int, str]]  # (id, name) of TAGGED, in order
    people: list[tuple[int, str, str]]  # (id, handle, name)
    calls: list[tuple[int, dt.date]]  # one per note, in date order


def seed(conn: sa.Connection, notes: int, rng: random.Random) -> Tables:
    """Regions are already seeded; add the people, the series and one call per note."""
    rows = conn.execute(sa.select(Region.slug, Region.id, Region.name)).all()
    by_slug = {slug: (region_id, name) for slug, region_id, name in rows}
    missing = [slug for slug in TAGGED if slug not in by_slug]
    if missing:
        raise SystemExit(f"The seeded region tree has no {missing}: update TAGGED.")
    first_names = [
        "Amina",
        "Ade",
        "Rina",
        "Carlos",
        "Lucia",
        "Mei",
        "Tomas",
        "Fatou",
        "Ibrahim",
        "Sara",
        "Jonas",
        "Priya",
    ]
    last_names = [
        "Bello",
        "Okafor",
        "Silva",
        "Santos",
        "Nguyen",
        "Rossi",
        "Diallo",
        "Khan",
        "Garcia",
        "Mensah",
    ]
    people = []
    for number in range(PEOPLE):
        first, last = rng.choice(first_names), rng.choice(last_names)
        people.append({"handle": f"{first.lower()}_{last[0].lower()}{number}",
                       "display_name": f"{first} {last}"})  # fmt: skip
    conn.execute(sa.insert(Person), people)
    people_rows = conn.execute(sa.select(Person.id, Person.handle, Person.display_name)).all()

    series = [
        {
            "slug": f"call-{number + 1}",
            "title": f"Coalition call {number + 1}",
            "timezone": ZONES[number % len(ZONES)],
            "start_time": dt.time(9 + number % 8),
            "duration_minutes": 60,
            "rrule": "FREQ=WEEKLY",
            "first_date": dt.date(2016, 1, 4),
            "display_cities": [],
            "reminder_minutes": [],
        }
        for number in range(SERIES_COUNT)
    ]
    conn.execute(sa.insert(Series), series)
    series_ids = list(conn.scalars(sa.select(Series.id).order_by(Series.id)))
    first = dt.datetime(2026, 11, 30, tzinfo=dt.UTC) - dt.timedelta(days=365 * YEARS)
    step = dt.timedelta(days=365 * YEARS) / notes
    calls = []
    for number in range(notes):
        start = (first + step * number).replace(minute=0, second=0, microsecond=0)
        calls.append({"series_id": series_ids[number % SERIES_COUNT], "start_at": start,
                      "original_start_at": start, "end_at": start + dt.timedelta(hours=1),
                      "timezone": "UTC"})  # fmt: skip
    for start in range(0, len(calls), 5000):
        conn.execute(sa.insert(Call), calls[start : start + 5000])
    call_rows = conn.execute(sa.select(Call.id, Call.start_at).order_by(Call.start_at)).all()
    return Tables(
        regions=[by_slug[slug] for slug in TAGGED],
        people=[tuple(row) for row in people_rows],
        calls=[(row[0], row[1].date()) for row in call_rows],
    )


def zipf_pick(rng: random.Random, items: Sequence[Any], count: int) -> list[Any]:
    weights = [1 / (rank + 1) for rank in range(len(items))]
    picked: list[Any] = []
    while len(picked) < count:
        item = rng.choices(items, weights)[0]
        if item not in picked:
            picked.append(item)
    return picked


def generate(conn: sa.Connection, updates: int, words: int) -> int:
    """Insert the notes, updates and their tags in bulk; returns the number of words."""
    rng = random.Random(20261201)
    pool = sentence_pool(rng)
    notes = -(-updates // UPDATES_PER_NOTE)
    tables = seed(conn, notes, rng)
    languages = ["en"] * 16 + ["es", "es", "fr", "pt"]
    total_words = 0
    next_update = 1
    batch = 250
    for first in range(0, notes, batch):
        note_rows, update_rows, region_rows, speaker_rows = [], [], [], []
        for number in range(first, min(notes, first + batch)):
            note_id = number + 1
            call_id, day = tables.calls[number]
            count = min(UPDATES_PER_NOTE, updates - number * UPDATES_PER_NOTE)
            bodies, htmls = [], []
            for position in range(count):
                regions = zipf_pick(rng, tables.regions, rng.choice((0, 1, 1, 1, 1, 1, 1, 2, 2)))
                people = zipf_pick(rng, tables.people, rng.choice((1, 1, 1, 2)))
                lead = " and ".join(name for _, name in regions) or "Global update"
                title = f"{lead} (@{people[0][1]})"
                sentences = rng.choices(pool, k=max(1, round(words * rng.uniform(0.5, 1.5) / 15)))
                mentions = [name for _, name in regions] + [f"@{p[1]}" for p in people[1:]]
                for mention in mentions:
                    at = rng.randrange(len(sentences))
                    sentences[at] = f"{mention}: {sentences[at]}"
                paragraphs = [
                    " ".join(sentences[start : start + 5]) for start in range(0, len(sentences), 5)
                ]
                body = "\n\n".join(paragraphs)
                total_words += body.count(" ") + len(paragraphs) + title.count(" ") + 1
                html = "".join(f"<p>{paragraph}</p>\n" for paragraph in paragraphs)
                anchor = f"update-{position + 1}"
                update_rows.append({
                    "id": next_update, "note_id": note_id, "position": position,
                    "anchor": anchor, "title": title, "body": body, "body_html": html,
                    "text": f"{title}\n{body}", "auto_region_ids": [r[0] for r in regions],
                    "auto_handles": [p[1] for p in people],
                })  # fmt: skip
                region_rows += [{"update_id": next_update, "region_id": r[0]} for r in regions]
                speaker_rows += [{"update_id": next_update, "person_id": p[0]} for p in people]
                bodies.append(f"## {title}\n\n{body}")
                htmls.append(f'<h2 id="{anchor}">{title}</h2>\n{html}')
                next_update += 1
            published = dt.datetime.combine(day, dt.time(18), dt.UTC)
            note_rows.append({
                "id": note_id, "call_id": call_id, "title": f"Notes of {day:%d %B %Y}",
                "slug": f"notes-{note_id}", "body": "\n\n".join(bodies),
                "body_html": "".join(htmls), "status": "published", "published_at": published,
                "language": rng.choice(languages), "created_at": published,
                "updated_at": published,
            })  # fmt: skip
        conn.execute(sa.insert(Note), note_rows)
        conn.execute(sa.insert(Update), update_rows)
        conn.execute(sa.insert(update_regions), region_rows)
        conn.execute(sa.insert(update_speakers), speaker_rows)
    return total_words


@dataclasses.dataclass
class Built:
    updates: int
    words: int
    generate_seconds: float
    index_seconds: float
    indexed: int
    when: str
    reused: bool = False


def build(database_url: str, updates: int, words: int) -> Built:
    """Migrate, seed, insert the generated rows, then build the index (timed)."""
    app = make_app(database_url)
    try:
        migrate(app)
        with app.app_context():
            started = time.perf_counter()
            with db.sessionmaker() as session:
                seed_regions(session)
                session.commit()
            with db.engine.begin() as conn:
                total_words = generate(conn, updates, words)
            generate_seconds = time.perf_counter() - started
            indexed, index_seconds = reindex(app)
            if db.engine.dialect.name == "sqlite":
                with db.engine.connect() as conn:  # fold the write-ahead log into the file
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        dispose(app)
    return Built(updates, total_words, generate_seconds, index_seconds, indexed,
                 dt.datetime.now().isoformat(timespec="minutes"))  # fmt: skip


def reindex(app: Flask) -> tuple[int, float]:
    with app.app_context(), db.sessionmaker() as session:
        started = time.perf_counter()
        indexed = documents.reindex_all(session)
        session.commit()
        return indexed, time.perf_counter() - started


def index_code_hash() -> str:
    """A hash of the code that decides what the index holds: documents.py, and the backends'
    writing methods (not their queries, which change far more often than the index)."""
    digest = hashlib.sha256((ROOT / "app" / "search" / "documents.py").read_bytes())
    for function in (
        backends.SQLiteBackend.add,
        backends.PostgresBackend.add,
        backends._language_key,
        backends._angles_hidden,
    ):
        digest.update(inspect.getsource(function).encode())
    return digest.hexdigest()[:16]


def cache_paths(updates: int, words: int) -> tuple[Path, Path]:
    migrations = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("*.py"))
    key = hashlib.sha256(repr((DATA_VERSION, updates, words, migrations)).encode()).hexdigest()
    stem = Path(tempfile.gettempdir()) / f"{CACHE_PREFIX}{updates}-{words}-{key[:10]}"
    return stem.with_suffix(".sqlite3"), stem.with_suffix(".json")


def cached_sqlite(updates: int, words: int, fresh: bool) -> tuple[str, Built]:
    """The generated SQLite database: reused from an earlier run when it is there."""
    path, meta = cache_paths(updates, words)
    url = f"sqlite:///{path}"
    if not fresh and path.exists() and meta.exists():
        data = json.loads(meta.read_text())
        built = Built(**data["built"])
        built.reused = True
        if data["index_code"] != index_code_hash():
            app = make_app(url)
            try:
                built.indexed, built.index_seconds = reindex(app)
            finally:
                dispose(app)
            built.reused = False
            meta.write_text(json.dumps({"built": dataclasses.asdict(built),
                                        "index_code": index_code_hash()}))  # fmt: skip
        return url, built
    path.unlink(missing_ok=True)
    meta.unlink(missing_ok=True)
    try:
        built = build(url, updates, words)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    meta.write_text(json.dumps({"built": dataclasses.asdict(built),
                                "index_code": index_code_hash()}))  # fmt: skip
    return url, built


def clean_cache() -> int:
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{CACHE_PREFIX}*"):
        path.unlink()
        removed += 1
    return removed


# --- reference queries -----------------------------------------------------------------------


def fts_reference(words: str, region_id: int | None) -> list[str]:
    """Two hand-written FTS5 queries for the page: snippets in the ranked query, or after it."""
    text = f"{{title body note_title people places}} : ({words})"
    match = f"({text}) AND keys : r{region_id}" if region_id else text
    marks = f"'{MARK_START}', '{MARK_END}'"
    columns = (
        f"rowid, highlight(search_fts, 0, {marks}),"
        f" snippet(search_fts, 1, {marks}, '…', {SNIPPET_WORDS})"
    )
    quoted = match.replace("'", "''")
    return [
        f"SELECT {columns} FROM search_fts WHERE search_fts MATCH '{quoted}'"
        f" ORDER BY rank LIMIT {PER_PAGE}",
        f"SELECT {columns} FROM search_fts WHERE search_fts MATCH '{quoted}' AND rowid IN"
        f" (SELECT rowid FROM search_fts WHERE search_fts MATCH '{quoted}' ORDER BY rank"
        f" LIMIT {PER_PAGE}) ORDER BY rank",
    ]


def pg_reference(words: str, region_id: int | None) -> list[str]:
    """Hand-written tsvector queries: headlines over the ranked page, or in one query; the
    page ranked from `search_documents` (its tsvector toasted) or from `search_vectors` (the
    same tsvector kept in the row), joined to `search_documents` for the region filter."""
    tsquery = f"websearch_to_tsquery('convene', '{words}')"
    region = f" AND region_ids && ARRAY[{region_id}]" if region_id else ""
    options = (
        f"'StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=12,"
        ' MaxFragments=2, FragmentDelimiter=" … "\''
    )
    title_options = f"'StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true'"
    headlines = (
        f"ts_headline('convene', d.title, q, {title_options}),"
        f" ts_headline('convene', d.body, q, {options})"
    )
    vectors = "search_vectors v" + (" JOIN search_documents USING (update_id)" if region_id else "")
    pages = [
        f"SELECT update_id, ts_rank(tsv, q) AS score FROM search_documents, {tsquery} q"
        f" WHERE tsv @@ q{region} ORDER BY score DESC, update_id DESC LIMIT {PER_PAGE}",
        f"SELECT update_id, ts_rank(v.tsv, q) AS score FROM {vectors}, {tsquery} q"
        f" WHERE v.tsv @@ q{region} ORDER BY score DESC, update_id DESC LIMIT {PER_PAGE}",
    ]
    queries = []
    for page in pages:
        queries += [
            f"SELECT d.update_id, {headlines} FROM ({page}) page"
            f" JOIN search_documents d USING (update_id), {tsquery} q"
            " ORDER BY page.score DESC, d.update_id DESC",
            f"WITH page AS MATERIALIZED ({page})"
            f" SELECT d.update_id, {headlines} FROM page JOIN search_documents d USING (update_id),"
            f" {tsquery} q ORDER BY page.score DESC, d.update_id DESC",
        ]
    return queries


# --- measuring -------------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    label: str
    text: str
    region: str | None
    reference: list[float] = dataclasses.field(default_factory=list)
    service: list[float] = dataclasses.field(default_factory=list)
    api: list[float] = dataclasses.field(default_factory=list)
    raw_http: list[float] = dataclasses.field(default_factory=list)  # the reference over HTTP
    total: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def serve(port: int, deadline: int) -> None:
    """Run in a subprocess: the app (configured by the environment) under gunicorn."""
    from gunicorn.app.base import BaseApplication

    signal.alarm(deadline)  # whatever happens to the parent, stop by the deadline

    app = create_app()

    @app.get(RAW_HTTP)
    def raw_query() -> Response:
        """The reference query given in `sql`, its rows as JSON: a bare route, for the bench's
        server alone (on loopback, never in the app)."""
        with db.engine.connect() as conn:
            rows = conn.exec_driver_sql(request.args["sql"]).all()
        return jsonify([list(row) for row in rows])

    class Server(BaseApplication):
        def load_config(self) -> None:
            for name, value in {
                "bind": f"127.0.0.1:{port}", "workers": 1, "worker_class": "sync",
                "keepalive": 30, "graceful_timeout": 3, "loglevel": "warning",
                "accesslog": None, "errorlog": "-",
            }.items():  # fmt: skip
                self.cfg.set(name, value)

        def load(self) -> Flask:
            return app

    Server().run()


@contextlib.contextmanager
def api_server(database_url: str, deadline: int, log: Path) -> Iterator[int]:
    port = free_port()
    server = start_server([__file__, "--serve", str(port), str(deadline)], database_url, log)
    try:
        wait_ready(port, server, log, timeout=60, path="/api/search?q=x&facets=0")
        yield port
    finally:
        stop(server)


def measure(
    app: Flask,
    port: int,
    cases: list[Case],
    seconds: float,
    reference_sql: Callable[..., list[str]],
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    with app.app_context():
        engine = db.engine
        region_ids = {
            slug: id_ for slug, id_ in db.session.execute(sa.select(Region.slug, Region.id))
        }
        with engine.connect() as raw:
            for case in cases:
                measure_case(app, raw, conn, case, seconds, reference_sql, region_ids)
    conn.close()


def measure_case(
    app: Flask,
    raw: sa.Connection,
    conn: http.client.HTTPConnection,
    case: Case,
    seconds: float,
    reference_sql: Callable[..., list[str]],
    region_ids: dict[str, int],
) -> None:
    region_id = region_ids[case.region] if case.region else None
    ref_words = case.text if case.text.startswith('"') else " ".join(case.text.split())
    if reference_sql is fts_reference and not case.text.startswith('"'):
        ref_words = " AND ".join(case.text.split())
    variants = reference_sql(ref_words, region_id)
    request = services.SearchRequest(text=case.text, regions=[case.region] if case.region else [])
    params = {"q": case.text} | ({"region": case.region} if case.region else {})
    path = "/api/search?" + urllib.parse.urlencode(params)
    variant_times: list[list[float]] = [[] for _ in variants]
    raw_paths: list[str] = []  # the chosen reference over HTTP, once it is chosen

    def run_service() -> services.SearchResults:
        # A new app context, as each request has: a new session, closed at the end.
        with app.app_context():
            found = services.search(db.session, request)
            for result in found.results:  # what the API reads from each result
                _ = (result.note.call, result.update.regions, result.update.speakers)
            return found

    rounds = itertools.count()

    def one_round() -> tuple[Any, Any, Any]:
        """Each measurement once, in an order that rotates from round to round: what runs just
        after another finds the caches it left (the CPU's, shared by both cores, and SQLite's),
        so a fixed order would charge one of them for another's work."""
        pages: list[Any] = [None] * len(variants)
        answer: list[Any] = [None, None]

        def reference(index: int, sql: str) -> None:
            elapsed, pages[index] = timed(lambda: raw.exec_driver_sql(sql).all())
            variant_times[index].append(elapsed)

        def service() -> None:
            elapsed, answer[0] = timed(run_service)
            case.service.append(elapsed)

        def api() -> None:
            elapsed, answer[1] = timed(lambda: get(conn, path))
            case.api.append(elapsed)

        def raw_http() -> None:
            elapsed, (status, body) = timed(lambda: get(conn, raw_paths[0]))
            if status != 200:
                raise SystemExit(f"{RAW_HTTP} answered {status}: {body[:300]!r}")
            case.raw_http.append(elapsed)

        steps = [functools.partial(reference, i, sql) for i, sql in enumerate(variants)]
        steps += [service, api] + ([raw_http] if raw_paths else [])
        turn = next(rounds) % len(steps)
        for step in steps[turn:] + steps[:turn]:
            step()
        status, body = answer[1]
        if status != 200:
            raise SystemExit(f"{path} answered {status}: {body[:300]!r}")
        return pages, answer[0], json.loads(body)

    pages, found, answer = one_round()  # warm-up, and the correctness checks
    case.total = found.total
    expected = [(row[0], row[1], row[2]) for row in pages[0]]
    for other in pages[1:]:
        if [tuple(row) for row in other] != expected:
            case.problems.append("the two reference queries disagree")
    ours = [(r.update.id, hit_text(r.title), hit_text(r.snippet)) for r in found.results]
    if [row[0] for row in ours] != [row[0] for row in expected]:
        case.problems.append("service page != reference page (ids)")
    elif ours != expected:
        case.problems.append("service titles/snippets != reference's")
    if [r["update_id"] for r in answer["results"]] != [row[0] for row in ours]:
        case.problems.append("API page != service page")
    if answer["total"] != found.total:
        case.problems.append("API total != service total")
    # The reference is the faster formulation by median over a few runs of each; only it is
    # measured beside the service and the API, so the slower one's work (which left the next
    # measurement in the other process up to half again slower) does not disturb them.
    trials = [[timed(lambda sql=sql: raw.exec_driver_sql(sql).all())[0] for _ in range(5)]
              for sql in variants]  # fmt: skip
    variants = [variants[min(range(len(variants)), key=lambda i: statistics.median(trials[i]))]]
    variant_times = [[]]
    raw_paths.append(f"{RAW_HTTP}?" + urllib.parse.urlencode({"sql": variants[0]}))
    status, body = get(conn, raw_paths[0])
    if status != 200 or [row[0] for row in json.loads(body)] != [row[0] for row in expected]:
        case.problems.append("the reference over HTTP != the reference")
    case.service.clear()
    case.api.clear()
    until = time.monotonic() + seconds
    while len(case.service) < 5 or (time.monotonic() < until and len(case.service) < 200):
        one_round()
    case.reference = min(variant_times, key=statistics.median)


def hit_text(markup: Any) -> str:
    return str(markup).replace("<mark>", MARK_START).replace("</mark>", MARK_END)


def print_cases(cases: list[Case]) -> bool:
    head = f"    {'query':<42}{'matches':>8}  {'ref p50':>7} {'p95':>6}"
    head += f"  {'service p50':>11} {'p95':>6} {'×p50':>5} {'×p95':>5}"
    head += f"  {'API p50':>7} {'p95':>6} {'×p50':>5} {'×p95':>5}"
    head += f"  {'ref/HTTP p95':>12} {'API×':>5}"
    print(head)
    ok = True
    for case in cases:
        ref50, ref95 = percentile(case.reference, 0.5), percentile(case.reference, 0.95)
        line = f"    {case_name(case):<42}{case.total:>8,}  {ref50 * 1e3:>7.1f} {ref95 * 1e3:>6.1f}"
        for values in (case.service, case.api):
            p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
            line += f"  {p50 * 1e3:>{11 if values is case.service else 7}.1f} {p95 * 1e3:>6.1f}"
            line += f" {p50 / ref50:>5.2f} {p95 / ref95:>5.2f}"
        http95 = percentile(case.raw_http, 0.95)
        line += f"  {http95 * 1e3:>12.1f} {percentile(case.api, 0.95) / http95:>5.2f}"
        print(line + f"   n={len(case.service)}")
        for problem in case.problems:
            print(f"      CHECK FAILED: {problem}")
            ok = False
    return ok


def print_verdict(cases: list[Case]) -> None:
    typical = [case for case in cases if not case.label.startswith("common")]
    for name, pick in (("service", lambda c: c.service), ("API", lambda c: c.api)):
        worst = max(percentile(pick(c), 0.95) / percentile(c.reference, 0.95) for c in cases)
        worst_ms = max(percentile(pick(c), 0.95) for c in typical) * 1e3
        verdict = "PASS" if worst <= TARGET_RATIO else "BELOW"
        ms_verdict = "PASS" if worst_ms < TARGET_MS else "BELOW"
        print(
            f"    {name}: worst p95 ratio {worst:.2f} (target <= {TARGET_RATIO}: {verdict});"
            f" worst p95 of typical queries (not the common word) {worst_ms:.1f} ms"
            f" (target < {TARGET_MS:.0f} ms: {ms_verdict})"
        )
    worst = max(percentile(c.api, 0.95) / percentile(c.raw_http, 0.95) for c in cases)
    verdict = "PASS" if worst <= TARGET_RATIO else "BELOW"
    print(
        f"    API against the reference over HTTP (the same server's bare route): worst p95"
        f" ratio {worst:.2f} ({verdict} at {TARGET_RATIO})"
    )


def case_name(case: Case) -> str:
    name = f"{case.label}: {case.text}"
    return name + (f" region:{case.region}" if case.region else "")


def make_cases() -> list[Case]:
    return [
        Case(label, text, region) for region in (None, FILTER_REGION) for label, text in QUERIES
    ]


def bench(
    database_url: str, built: Built, seconds: float, reference_sql: Callable[..., list[str]]
) -> bool:
    rate = built.indexed / built.index_seconds
    origin = f" (built {built.when}, reused)" if built.reused else ""
    print(
        f"    data: {built.updates:,} updates, {built.words / 1e6:.1f} M words, generated and"
        f" inserted in {built.generate_seconds:.1f} s{origin}"
    )
    print(
        f"    index build (reindex_all + commit): {built.indexed:,} updates in"
        f" {built.index_seconds:.1f} s = {rate:,.0f} updates/s,"
        f" {built.words / built.index_seconds / 1e6:.2f} M words/s"
    )
    cases = make_cases()
    deadline = int(len(cases) * (seconds + 20) + 120)
    # The service as deployed (and as the API's server runs it): the page cache checks its
    # versions once a second, not on every call as under the test settings.
    app = create_app({"DATABASE_URL": database_url, "CACHE_CHECK_SECONDS": CACHE_CHECK_SECONDS})
    try:
        with (
            tempfile.TemporaryDirectory(prefix="convene-bench-") as directory,
            api_server(database_url, deadline, Path(directory) / "gunicorn.log") as port,
        ):
            measure(app, port, cases, seconds, reference_sql)
    finally:
        dispose(app)
    ok = print_cases(cases)
    print_verdict(cases)
    return ok


def bench_postgres(server_url: str, updates: int, words: int, seconds: float) -> bool:
    with temporary_postgres_database(server_url) as url:
        built = build(url, updates, words)
        print_pg_memory(url)
        return bench(url, built, seconds, pg_reference)


def print_pg_memory(url: str) -> None:
    """The server's shared buffers beside the index's size: a phrase reads the matches' rows of
    search_vectors, from the buffers if they hold them, else copied in from the system's cache
    (twice the time: docs/OPERATIONS.md)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            buffers = conn.exec_driver_sql("SHOW shared_buffers").scalar_one()
            vectors = conn.exec_driver_sql(
                "SELECT pg_size_pretty(pg_total_relation_size('search_vectors'))"
            ).scalar_one()
    finally:
        engine.dispose()
    print(f"    server: shared_buffers {buffers}; search_vectors with its index {vectors}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--updates", type=int, default=100_000, help="updates (default 100000)")
    parser.add_argument("--words", type=int, default=600, help="mean words per update (600)")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds per query (6)")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--fresh", action="store_true", help="ignore the cached SQLite database")
    parser.add_argument("--clean", action="store_true", help="delete cached databases and exit")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), int(args.serve[1]))
        return 0
    if args.clean:
        print(f"{clean_cache()} cached files removed from {tempfile.gettempdir()}")
        return 0

    print(
        f"Convene bench: search (Python {platform.python_version()}, SQLAlchemy "
        f"{sa.__version__}, SQLite {sa.__version__ and __import__('sqlite3').sqlite_version},"
        f" {os.cpu_count()} CPUs)"
    )
    print(
        f"{args.updates:,} updates (~{args.words} words each) in notes of {UPDATES_PER_NOTE},"
        f" {YEARS} years, {len(TAGGED)} regions, {PEOPLE} speakers; p50/p95 in ms; ×: ratio to"
        " the reference (best raw query for the same page)"
    )
    print("  sqlite (reference: raw FTS5)")
    url, built = cached_sqlite(args.updates, args.words, args.fresh)
    ok = bench(url, built, args.seconds, fts_reference)
    if args.postgres:
        print("  postgresql (reference: raw tsvector query)")
        ok = bench_postgres(args.postgres, args.updates, args.words, args.seconds) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
