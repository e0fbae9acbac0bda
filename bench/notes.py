"""Performance figures for Convene's notes: importing note files, and serving a note's page.

Not a test: it asserts nothing about timing and prints figures to compare between runs, each
beside a reference measured in the same run on the same machine. The database helpers and the
page-against-bare-route measurement are bench/common.py's, shared with bench/calls.py.

1. Importing 1,000 note files. The script writes 1,000 Markdown files with YAML front matter
   (title, slug, status: published, language) to a temporary directory: bodies of 400 to 800
   words, half with Markdown headings ("## Regional updates" / "### West Africa (@kofi_m)"),
   half pasted text with "•" bullets ("Regional Campaign Updates:" / "  • Asia (@Rina)"), naming
   regions, countries and aliases of the seeded region tree and @handles in mixed case. On a
   fresh database whose schema is built by the migrations and whose region tree is seeded
   (SQLite in the temporary directory; also PostgreSQL with --postgres, in a temporary database
   created and dropped on that server), `flask notes import DIR` runs in-process through
   `app.test_cli_runner()`: parsing, splitting, tagging, rendering, revisions, one commit.
   Printed: notes/s (target >= 100), with what was stored (updates, region tags, speaker tags);
   the same files imported again (all unchanged, nothing written); the reference, one Core
   `executemany` of the same 1,000 titles and bodies into a plain two-column table (created,
   filled, committed, dropped), as reference_time / our_time; and, per note, the parts of the
   work that need no database (parsing the files, splitting and tagging the bodies, rendering
   the updates; on the first 250 files, SQLite run only), to compare with the import's time per
   note.
   If `flask notes import` does not exist, `save_note` is timed over the parsed files instead,
   and the output says so.

2. A note's page (GET /notes/<slug>, a published note of 8 updates among the 1,000 imported into
   the SQLite database, served from the page cache) against a bare Flask route on the same app
   returning the same bytes (`/bare`), under gunicorn (gthread, 2 workers x 4 threads, loopback)
   started as a subprocess of this script; 8 client threads on persistent HTTP/1.1 connections
   alternate between the routes in interleaved rounds (ABBA). Printed as in bench/calls.py:
   requests/s, p50 and p99, server CPU per request, the ratio page/bare (target >= 0.80), per
   round, and the load generator's CPU. Every response must be a 200 whose body equals the
   page fetched first.

Exit status 1 means a correctness check failed (an import that did not create every note, a
second import that changed any, a response that was not a 200 with the expected body), never a
slow figure. Part 2 takes 12 x S seconds (S: --seconds, default 3); the whole run, about 80 s
at today's import speed (40 notes/s on SQLite), and about 70 s more with --postgres.

Usage (from the repository root):
    .venv/bin/python bench/notes.py [--seconds 3] [--postgres postgresql://postgres@127.0.0.1]
"""

from __future__ import annotations

import dataclasses
import random
import sys
import tempfile
import time
from pathlib import Path

# bench/common.py, beside this file (the script's directory is first on sys.path).
import common
import sqlalchemy as sa
import yaml
from flask import Flask

from app.db import db
from app.notes import render
from app.notes.models import Note, Update, update_regions, update_speakers
from app.notes.services import NoteInput, save_note, tag_sections
from app.taxonomy.matching import region_matcher
from app.taxonomy.models import Region, RegionAlias
from app.taxonomy.services import seed_regions, slugify

NOTE_COUNT = 1000
WORDS = (400, 800)
TARGET_RATE = 100.0  # notes/s
BREAKDOWN_NOTES = 250
SEED = 20261122

PAGE_UPDATES = 8


# --- generating note files -------------------------------------------------------------------

HANDLES = (
    "Wanjiru", "kofi_m", "Rina", "tomas", "Amina_B", "Ade", "Leila_H", "Marta_G", "sam.okafor",
    "Thandi", "priya.n", "abdi_h", "Josephine_K", "luiza", "Lucia_F", "Moussa_D", "claire.b",
    "jorge_r", "ana-lucia", "fatou_s", "Imran_Q", "minh.t", "sok_c", "otieno_j", "neema_m",
    "Celso_M", "joao.p", "ciaran", "dana.w", "hery", "Budi_S", "Nadia.K", "yusuf_a", "Mei_L",
    "Carlos.R", "Ebi_T", "Ana_P", "Kwame", "Salma_H", "Ravi.K",
)  # fmt: skip
TOPICS = (
    "Community paralegals and the courts", "Legal aid budgets", "Land rights and evictions",
    "Data on justice needs", "Environmental defenders", "Gender justice and customary courts",
    "Pre-trial detention", "Legal identity", "Refugees and access to justice",
    "Court monitoring", "Recognising paralegals", "Justice for children",
)  # fmt: skip
LANGUAGES = ("en", "en", "en", "en", "es", "fr", "pt")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "September")
SENTENCES = (
    "Paralegals in {country} held {n} mobile clinics in {month}, most of them in rural districts.",
    "The legal aid board in {country} agreed to publish its caseload data every quarter.",
    "Partners in {country} and {country2} compared their court-monitoring forms; @{handle} will "
    "share the common version.",
    "A training of trainers on land law gathered {n} community paralegals from {country}.",
    "The national budget for legal aid in {country} was cut by {n}%; partners are preparing a "
    "joint response with the bar association.",
    "Court users' committees now meet monthly in {n} districts, and their minutes are public.",
    "@{handle} asked for examples of surveys that count people in pre-trial detention.",
    "The hotline answered {n} calls in {month}; a third were about family and land disputes.",
    "Community mediators were trained on the new law on customary courts, with support from "
    "the judiciary.",
    "A regional meeting is planned for {month}; registration opens next week and interpretation "
    "will be provided.",
    "Partners in {country} documented {n} forced evictions and filed complaints with the "
    "national human rights institution.",
    "The public defenders' office in {country} signed an agreement recognising community "
    "paralegals.",
    "Women paralegals trained {n} village leaders on inheritance rights and gender justice.",
    "The coalition's submission on legal aid to the UN Special Rapporteur was accepted.",
    "Fieldwork for the joint study on access to justice starts in {month}; contact "
    "research@justice-coalition.example.org for the questionnaire.",
)
GLOBAL = (
    "The legal empowerment toolkit is out in English; French and Spanish versions follow.",
    "@{handle} reminded everyone that the small grants round closes at the end of {month}.",
    "The annual report is drafted; comments to @{handle} within two weeks.",
    "The board approved the strategy; a summary will be circulated with these notes.",
)
INVOLVED = (
    "Send the forms you use for court monitoring to @{handle}.",
    "Join the working group on data: second Thursday of the month, 14:00 UTC.",
    "Review the annual report (link in the chat).",
    "Volunteer as an interpreter for the regional meeting: write to @{handle}.",
)


@dataclasses.dataclass
class Tree:
    """Names from the seeded region tree: sub-regions (by name or alias) with their countries."""

    groups: list[tuple[str, list[str]]]  # (a name of the group, its countries' names)


def region_names(session: sa.orm.Session) -> Tree:
    regions = list(session.scalars(sa.select(Region)))
    countries: dict[int, list[str]] = {}
    for region in regions:
        if region.kind == "country" and region.parent_id is not None:
            countries.setdefault(region.parent_id, []).append(region.name)
    aliases: dict[int, list[str]] = {}
    for alias, region_id in session.execute(sa.select(RegionAlias.alias, RegionAlias.region_id)):
        aliases.setdefault(region_id, []).append(alias)
    groups = []
    for region in regions:
        names = countries.get(region.id)
        if region.kind == "group" and names and len(names) >= 3:
            # Latin names only: some CLDR aliases are in scripts a note would not use here.
            extra = sorted(a for a in aliases.get(region.id, []) if a.isascii())[:2]
            for name in (region.name, *extra):
                groups.append((name, sorted(names)))
    return Tree(groups)


class Writer:
    """One note body, built to a word count from the templates."""

    def __init__(self, rng: random.Random, countries: list[str]) -> None:
        self.rng = rng
        self.countries = countries

    def sentence(self, templates: tuple[str, ...], countries: list[str] | None = None) -> str:
        pool = countries or self.countries
        first, second = self.rng.sample(pool, 2) if len(pool) > 1 else (pool[0], pool[0])
        return self.rng.choice(templates).format(
            country=first,
            country2=second,
            n=self.rng.randint(3, 1500),
            month=self.rng.choice(MONTHS),
            handle=self.handle(),
        )

    def handle(self) -> str:
        handle = self.rng.choice(HANDLES)
        return handle.lower() if self.rng.random() < 0.3 else handle


def note_body(rng: random.Random, tree: Tree, pasted: bool) -> str:
    """A note of 400 to 800 words: global updates, region updates until the word count is
    reached, ways to get involved; with headings, or pasted with "•" bullets."""
    target = rng.randint(*WORDS)
    all_countries = [country for _, names in tree.groups for country in names]
    writer = Writer(rng, all_countries)
    chair, notes = writer.handle(), writer.handle()
    if pasted:
        lines = [
            f"Coalition monthly call – {rng.randint(1, 28)} {rng.choice(MONTHS)}",
            f"Facilitator: @{chair} · Notes: @{notes}",
            "",
            "Global Updates:",
        ]
        bullet, sub = "  • ", "    • "
    else:
        lines = [
            f"Chair: @{chair}. Notes: @{notes}. {rng.randint(15, 60)} participants.",
            "",
            "## Global updates",
        ]
        bullet, sub = "- ", "  - "
    lines += [bullet + writer.sentence(GLOBAL) for _ in range(rng.randint(2, 3))]
    lines += ["", "Regional Campaign Updates:" if pasted else "## Regional updates"]
    closing = ["", "Ways to get involved:" if pasted else "## Ways to get involved"]
    closing += [bullet + writer.sentence(INVOLVED) for _ in range(2)]
    words = len(" ".join(lines + closing).split())
    for group, countries in rng.sample(tree.groups, len(tree.groups)):
        if words >= target:
            break
        speaker = writer.handle()
        part = [f"{bullet}{group} (@{speaker})"] if pasted else ["", f"### {group} (@{speaker})"]
        item = sub if pasted else bullet
        for number in range(rng.randint(3, 5)):
            text = writer.sentence(SENTENCES, countries)
            if number == 1:  # a "Country: text" bullet
                text = f"{rng.choice(countries)}: {text[0].lower()}{text[1:]}"
            part.append(item + text)
            if rng.random() < 0.3:
                nested = "      • " if pasted else "    - "
                part.append(nested + writer.sentence(SENTENCES, countries))
        lines += part
        words += len(" ".join(part).split())
    return "\n".join(lines + closing) + "\n"


@dataclasses.dataclass
class NoteData:
    title: str
    slug: str
    language: str
    body: str


def write_notes(directory: Path, tree: Tree) -> list[NoteData]:
    rng = random.Random(SEED)
    notes = []
    for number in range(NOTE_COUNT):
        topic = rng.choice(TOPICS)
        title = f"{topic} – call {number + 1}"
        slug = slugify(f"bench-{number + 1:04d}-{topic}")
        data = NoteData(title, slug, rng.choice(LANGUAGES), note_body(rng, tree, number % 2 == 1))
        front = {"title": title, "slug": slug, "status": "published", "language": data.language}
        text = f"---\n{yaml.safe_dump(front, allow_unicode=True, sort_keys=False)}---\n\n"
        (directory / f"{slug}.md").write_text(text + data.body, encoding="utf-8")
        notes.append(data)
    return notes


# --- 1. importing ----------------------------------------------------------------------------


@dataclasses.dataclass
class ImportResult:
    how: str
    seconds: float
    summary: str
    ok: bool
    notes: int
    updates: int
    region_tags: int
    speaker_tags: int
    again_seconds: float
    again_summary: str
    reference_seconds: float


def seeded_app(database_url: str) -> Flask:
    app = common.make_app(database_url)
    common.migrate(app)
    with app.app_context():
        seed_regions(db.session)
        db.session.commit()
    return app


def has_import_command(app: Flask) -> bool:
    group = app.cli.commands.get("notes")
    return group is not None and "import" in getattr(group, "commands", {})


def run_import(app: Flask, directory: Path, notes: list[NoteData]) -> tuple[float, str, bool, str]:
    """(seconds, summary, whether every note was created, how it was imported)."""
    if has_import_command(app):
        runner = app.test_cli_runner()
        started = time.perf_counter()
        result = runner.invoke(args=["notes", "import", str(directory)])
        seconds = time.perf_counter() - started
        summary = result.output.strip().splitlines()[-1] if result.output.strip() else ""
        if result.exception and not isinstance(result.exception, SystemExit):
            summary = f"{summary} {result.exception!r}"
        ok = result.exit_code == 0 and summary.startswith(f"{len(notes)} created")
        return seconds, summary, ok, "`flask notes import` (in-process, test_cli_runner)"
    # No import command yet: save the notes through the service, one commit.
    with app.app_context():
        started = time.perf_counter()
        matcher = region_matcher(db.session)
        for note in notes:
            data = NoteInput(
                title=note.title,
                body=note.body,
                status="published",
                language=note.language,
                slug=note.slug,
            )
            save_note(db.session, data, matcher=matcher)
        db.session.commit()
        seconds = time.perf_counter() - started
    return seconds, f"{len(notes)} saved", True, "save_note (no `flask notes import` command yet)"


def import_notes(database_url: str, directory: Path, notes: list[NoteData]) -> ImportResult:
    app = seeded_app(database_url)
    try:
        seconds, summary, ok, how = run_import(app, directory, notes)
        with app.app_context():
            stored = [
                db.session.scalar(sa.select(sa.func.count()).select_from(what)) or 0
                for what in (Note, Update, update_regions, update_speakers)
            ]
            engine = db.engine
        ok = ok and stored[0] == len(notes)
        again_seconds, again_summary = 0.0, ""
        if has_import_command(app):
            again_seconds, again_summary, _, _ = run_import(app, directory, notes)
            ok = ok and again_summary.startswith(f"0 created, 0 replaced, {len(notes)} unchanged")
        reference = reference_insert(engine, notes)
    finally:
        common.dispose(app)
    return ImportResult(how, seconds, summary, ok, *stored, again_seconds, again_summary, reference)


def reference_insert(engine: sa.Engine, notes: list[NoteData]) -> float:
    """Seconds to insert the notes' titles and bodies into a plain table with one executemany,
    and commit; the table is created before and dropped after."""
    table = sa.Table(
        "bench_plain_notes",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    table.create(engine)
    try:
        rows = [{"title": note.title, "body": note.body} for note in notes]
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.insert(table), rows)
        return time.perf_counter() - started
    finally:
        table.drop(engine)


@dataclasses.dataclass
class Breakdown:
    """Seconds per note for the parts of the import's work that need no database."""

    notes: int
    parse: float
    tag: float
    render: float


def breakdown(database_url: str, directory: Path) -> Breakdown:
    """Parsing, splitting and tagging, rendering the updates: on the first BREAKDOWN_NOTES
    files, with the region matcher the import uses."""
    from app.notes import files

    app = common.make_app(database_url)
    try:
        with app.app_context():
            matcher = region_matcher(db.session)
    finally:
        common.dispose(app)
    paths = sorted(directory.glob("*.md"))[:BREAKDOWN_NOTES]
    texts = [(path.read_text(encoding="utf-8"), path.stem) for path in paths]
    started = time.perf_counter()
    bodies = [files.parse(text, stem).body for text, stem in texts]
    parse = time.perf_counter() - started
    started = time.perf_counter()
    tagged = [tag_sections(body, matcher) for body in bodies]
    tag = time.perf_counter() - started
    started = time.perf_counter()
    for note in tagged:
        for item in note:
            render.render(item.section.body)
    rendering = time.perf_counter() - started
    count = len(texts)
    return Breakdown(count, parse / count, tag / count, rendering / count)


def print_import(label: str, result: ImportResult, parts: Breakdown | None) -> None:
    rate = result.notes / result.seconds if result.seconds else 0.0
    verdict = "PASS" if rate >= TARGET_RATE else "BELOW"
    ratio = result.reference_seconds / result.seconds if result.seconds else 0.0
    print(f"  {label}: {result.how}")
    print(f"    {result.summary}")
    per_note = result.seconds / result.notes * 1000 if result.notes else 0.0
    print(
        f"    {result.notes:,} notes in {result.seconds:.2f} s = {rate:,.0f} notes/s "
        f"(target >= {TARGET_RATE:.0f}: {verdict}), {per_note:.1f} ms per note"
    )
    print(
        f"    stored {result.updates:,} updates, {result.region_tags:,} region tags, "
        f"{result.speaker_tags:,} speaker tags"
    )
    if result.again_summary:
        print(f"    the same files again: {result.again_seconds:.2f} s ({result.again_summary})")
    print(
        f"    reference, one Core executemany of the {NOTE_COUNT:,} titles and bodies into a "
        f"plain table + commit: {result.reference_seconds:.3f} s; reference/ours = {ratio:.3f}"
    )
    if parts is not None:
        print(
            f"    work without the database, per note (on {parts.notes} of the files): parsing "
            f"{parts.parse * 1000:.1f} ms, splitting and tagging {parts.tag * 1000:.1f} ms, "
            f"rendering the updates {parts.render * 1000:.1f} ms"
        )
    if not result.ok:
        print(
            f"    CHECK FAILED: expected {NOTE_COUNT} notes created (stored {result.notes}), "
            "then all unchanged by the second import"
        )


# --- 2. a note's page under gunicorn ---------------------------------------------------------


def pick_note(database_url: str) -> tuple[str, int]:
    """A published note with PAGE_UPDATES updates (else the one closest to it): (slug, updates)."""
    app = common.make_app(database_url)
    try:
        with app.app_context():
            counts = (
                sa.select(Note.slug, sa.func.count(Update.id).label("updates"))
                .join(Update, Update.note_id == Note.id)
                .group_by(Note.id, Note.slug)
                .order_by(sa.func.abs(sa.func.count(Update.id) - PAGE_UPDATES), Note.id)
                .limit(1)
            )
            slug, updates = db.session.execute(counts).one()
            return slug, updates
    finally:
        common.dispose(app)


def bench_page(database_url: str, directory: Path, seconds: float) -> bool:
    """Figure 2; False if a response was not a 200 with the expected body."""
    slug, updates = pick_note(database_url)
    run = common.measure_page(database_url, directory, f"/notes/{slug}", seconds)
    load = common.describe_load(seconds)
    print(f"  {run.page}: {updates} updates, {len(run.body):,} bytes; {load}")
    common.print_page(run, "note page")
    return run.ok


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    args = common.parse_arguments(__doc__, "also import the notes on this PostgreSQL server")
    common.print_banner("notes")
    ok = True
    with tempfile.TemporaryDirectory(prefix="convene-bench-") as name:
        directory = Path(name)
        files_dir = directory / "notes"
        files_dir.mkdir()
        # The region names come from a seeded database of their own; the import gets a fresh one.
        app = seeded_app(f"sqlite:///{directory / 'regions.sqlite3'}")
        try:
            with app.app_context():
                tree = region_names(db.session)
        finally:
            common.dispose(app)
        started = time.perf_counter()
        notes = write_notes(files_dir, tree)
        words = sum(len(note.body.split()) for note in notes) / len(notes)
        print(
            f"1. Importing {len(notes):,} note files ({words:,.0f} words each on average, half "
            f"with headings, half pasted with bullets; written in "
            f"{time.perf_counter() - started:.1f} s)"
        )
        database_url = f"sqlite:///{directory / 'notes.sqlite3'}"
        result = import_notes(database_url, files_dir, notes)
        ok &= result.ok
        print_import("sqlite", result, breakdown(database_url, files_dir))
        if args.postgres:
            with common.temporary_postgres_database(args.postgres) as url:
                result = import_notes(url, files_dir, notes)
                ok &= result.ok
                print_import("postgresql", result, None)

        print("2. A note's page (GET /notes/<slug>) against a bare route returning the same bytes")
        if not bench_page(database_url, directory, args.seconds):
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
