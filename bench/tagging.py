"""Tagging quality: how notes are split into updates and tagged, against hand labels.

Not a test: it prints figures and the differences behind them, and always exits 0 (unless a
label file is malformed). It measures quality, not time.

Two sources of labelled notes:
- bench/corpus/tagging/: notes of our own (NAME.md), each with NAME.labels.yaml beside it
  listing, in order, the updates a person reading the note expects, each
      {title, about: [slugs], mentions: [slugs], speakers: [handles], presenters: [handles]}
  (the labelling rules are in bench/README.md);
- ../shared/notes-examples/ when it exists (or --shared DIR): real notes as pasted, with
  note-level hand labels in labels.json (regions, countries, speakers, pairs).

On a fresh SQLite database in a temporary directory (migrated, region tree seeded), each note
goes through `app.notes.services.tag_sections` with `region_matcher`, as saving a note does.

Figures, micro-averaged (precision and recall each):
- note level, for both sources: **regions** (continent-level: the continents of every region
  an update is tagged with, about or mention, and "global" when anything is tagged, as a
  region filter on Global finds every tagged update), **countries** (the countries tagged; for
  the shared examples, whose labels list every country the text names, the countries suggested
  too),
  **speakers** (every handle), **pairs** (presenter, continent of a region the update is
  about, Global left out);
- update level, for our corpus: **updates** (predicted matched to expected by title,
  normalized: case, accents, @handles and punctuation ignored; an expected title the
  predicted one starts with also matches), and per matched update **about**, **mentions**
  and **speakers**.
Targets: 0.95 on our corpus, 0.90 on the shared examples; PASS or BELOW beside each.

Usage (from the repository root):
    .venv/bin/python bench/tagging.py [--show] [--shared DIR] [NAME ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import yaml
from alembic import command
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.cli import alembic_config
from app.db import db
from app.notes.services import Tagged, tag_sections
from app.taxonomy.matching import region_matcher
from app.taxonomy.models import Region
from app.taxonomy.services import seed_regions

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT / "corpus" / "tagging"
# A handle, glued to the word before it or not ("Other News@rina").
GLUED_HANDLE = re.compile(r"@[\w.-]*\w")
SHARED = ROOT.parent.parent / "shared" / "notes-examples"
TARGETS = {"corpus": 0.95, "shared": 0.90}
NOTE_KINDS = ("regions", "countries", "speakers", "pairs")
UPDATE_KINDS = ("updates", "about", "mentions", "update speakers")


class CorpusError(Exception):
    pass


# --- the region tree -------------------------------------------------------------------------


@dataclasses.dataclass
class Tree:
    slug_of: dict[int, str]
    parent: dict[str, str | None]
    kind: dict[str, str]

    def continent(self, slug: str) -> str:
        """The continent-level region of `slug`: the region under Global (under the Americas,
        Latin America or North America); "global" for Global itself."""
        chain = [slug]
        while (up := self.parent.get(chain[-1])) is not None:
            chain.append(up)
        chain.reverse()  # global, continent, ...
        if len(chain) == 1:
            return chain[0]
        if chain[1] == "americas" and len(chain) > 2:
            return chain[2]
        return chain[1]

    def continents(self, slugs: Iterable[str]) -> set[str]:
        return {self.continent(slug) for slug in slugs}


# --- labels ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Update:
    title: str
    about: list[str]
    mentions: list[str]
    speakers: list[str]
    presenters: list[str]
    kind: str = ""  # predicted only
    first_line: str = ""  # predicted only
    suggested: list[str] = dataclasses.field(default_factory=list)  # predicted only

    @property
    def label(self) -> str:
        return repr(self.title) if self.title else "(the opening)"


@dataclasses.dataclass
class NoteLabels:
    regions: set[str]
    countries: set[str]
    speakers: set[str]
    pairs: set[tuple[str, str]]


def note_level(updates: list[Update], tree: Tree, *, named: bool = False) -> NoteLabels:
    """The note's labels from its updates'. `named`: its countries are every country it names,
    suggestions included (as the shared examples' labels count them), not only those tagged."""
    tagged = [slug for u in updates for slug in (*u.about, *u.mentions)]
    regions = tree.continents(tagged) | ({"global"} if tagged else set())
    found = tagged + [slug for u in updates for slug in u.suggested] if named else tagged
    countries = {slug for slug in found if tree.kind.get(slug) == "country"}
    speakers = {handle for u in updates for handle in u.speakers}
    pairs = {
        (handle, continent)
        for u in updates
        for handle in u.presenters
        for continent in tree.continents(u.about) - {"global"}
    }
    return NoteLabels(regions, countries, speakers, pairs)


def _slugs(values: object, where: str, tree: Tree) -> list[str]:
    slugs = [str(value) for value in values or []]  # type: ignore[attr-defined]
    unknown = [slug for slug in slugs if slug not in tree.kind]
    if unknown:
        raise CorpusError(f"{where}: no region {', '.join(unknown)}")
    return slugs


def _handles(values: object) -> list[str]:
    return [str(v).lstrip("@").lower() for v in values or []]  # type: ignore[attr-defined]


def load_labels(path: Path, tree: Tree) -> list[Update]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("updates"), list):
        raise CorpusError(f"{path}: expected a mapping with a list of updates")
    keys = {"title", "about", "mentions", "speakers", "presenters"}
    updates = []
    for number, entry in enumerate(data["updates"], 1):
        if not isinstance(entry, dict) or set(entry) != keys:
            raise CorpusError(f"{path}: update {number} needs exactly {', '.join(sorted(keys))}")
        where = f"{path}: update {number}"
        updates.append(
            Update(
                str(entry["title"] or ""),
                _slugs(entry["about"], where, tree),
                _slugs(entry["mentions"], where, tree),
                _handles(entry["speakers"]),
                _handles(entry["presenters"]),
            )
        )
    return updates


def load_shared(directory: Path, tree: Tree) -> dict[str, NoteLabels]:
    data = json.loads((directory / "labels.json").read_text(encoding="utf-8"))
    notes = {}
    for name, entry in data.items():
        if name.startswith("_"):
            continue
        notes[name] = NoteLabels(
            set(_slugs(entry.get("regions"), name, tree)),
            set(_slugs(entry.get("countries"), name, tree)),
            set(_handles(entry.get("speakers"))),
            {(str(h).lstrip("@").lower(), str(r)) for h, r in entry.get("pairs") or []},
        )
    return notes


# --- predicting ------------------------------------------------------------------------------


def seeded_database(directory: Path) -> Flask:
    """The app on a fresh SQLite database: migrated, the region tree seeded."""
    app = create_app({"DATABASE_URL": f"sqlite:///{directory / 'tagging.sqlite3'}"})
    with app.app_context():
        with db.engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        seed_regions(db.session)
        db.session.commit()
    return app


def predict(tagged: list[Tagged], tree: Tree) -> list[Update]:
    slug = tree.slug_of
    items = []
    for entry in tagged:
        section = entry.section
        first = next((line.strip() for line in section.lines if line.strip()), "")
        items.append(
            Update(
                section.title,
                [slug[rid] for rid in entry.region_ids],
                [slug[rid] for rid in entry.mention_ids],
                list(entry.handles),
                list(entry.presenters),
                section.kind,
                first,
                [slug[rid] for rid in entry.suggested_ids],
            )
        )
    return items


# --- matching and scoring --------------------------------------------------------------------


def normalize_title(title: str) -> str:
    """ "México (@ana-lucia)" -> "mexico"."""
    text = unicodedata.normalize("NFKD", GLUED_HANDLE.sub(" ", title).replace("’", "'"))
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    return " ".join(re.sub(r"[^\w]+|_", " ", text).split())


def match(expected: list[Update], predicted: list[Update]) -> dict[int, tuple[int, bool]]:
    """expected index -> (predicted index, whether the titles are equal once normalized)."""
    keys = [normalize_title(item.title) for item in predicted]
    used: set[int] = set()
    pairs: dict[int, tuple[int, bool]] = {}
    for exact in (True, False):
        for e_index, item in enumerate(expected):
            if e_index in pairs:
                continue
            key = normalize_title(item.title)
            for p_index, other in enumerate(keys):
                if p_index in used:
                    continue
                if other == key if exact else key and other.startswith(key + " "):
                    pairs[e_index] = (p_index, exact)
                    used.add(p_index)
                    break
    return pairs


@dataclasses.dataclass
class Score:
    true: int = 0
    false: int = 0  # predicted, not expected
    missed: int = 0  # expected, not predicted

    def add(self, other: Score) -> None:
        self.true += other.true
        self.false += other.false
        self.missed += other.missed

    def compare(self, want: set[object], have: set[object]) -> tuple[list[str], list[str]]:
        self.true += len(want & have)
        self.missed += len(want - have)
        self.false += len(have - want)
        return sorted(map(_show, want - have)), sorted(map(_show, have - want))

    @property
    def precision(self) -> float:
        predicted = self.true + self.false
        return self.true / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        expected = self.true + self.missed
        return self.true / expected if expected else 1.0


def _show(value: object) -> str:
    return "→".join(value) if isinstance(value, tuple) else str(value)


@dataclasses.dataclass
class Result:
    name: str
    scores: dict[str, Score]
    problems: list[str]
    predicted: list[Update]


def score_note_level(
    scores: dict[str, Score], problems: list[str], want: NoteLabels, have: NoteLabels
) -> None:
    for kind in NOTE_KINDS:
        missed, extra = scores[kind].compare(getattr(want, kind), getattr(have, kind))
        if missed:
            problems.append(f"missed {kind}: {', '.join(missed)}")
        if extra:
            problems.append(f"extra {kind}: {', '.join(extra)}")


def score_updates(
    scores: dict[str, Score], problems: list[str], expected: list[Update], predicted: list[Update]
) -> None:
    pairs = match(expected, predicted)
    fields = {"about": "about", "mentions": "mentions", "update speakers": "speakers"}
    for e_index, item in enumerate(expected):
        if e_index not in pairs:
            scores["updates"].missed += 1
            for kind, field in fields.items():
                scores[kind].missed += len(getattr(item, field))
            problems.append(f"MISSED UPDATE {item.label}: about {item.about} {item.speakers}")
            continue
        got = predicted[pairs[e_index][0]]
        scores["updates"].true += 1
        for kind, field in fields.items():
            missed, extra = scores[kind].compare(
                set(getattr(item, field)), set(getattr(got, field))
            )
            if missed:
                problems.append(f"missed {kind} {', '.join(missed)} in {item.label}")
            if extra:
                problems.append(f"extra {kind} {', '.join(extra)} in {item.label}")
    matched = {p_index for p_index, _ in pairs.values()}
    for p_index, got in enumerate(predicted):
        if p_index in matched:
            continue
        scores["updates"].false += 1
        for kind, field in fields.items():
            scores[kind].false += len(getattr(got, field))
        start = f'; its text starts "{got.first_line[:60]}"' if got.first_line else ""
        problems.append(f"EXTRA UPDATE {got.label} ({got.kind}): about {got.about}{start}")


# --- printing --------------------------------------------------------------------------------


def figures(scores: dict[str, Score], kinds: tuple[str, ...]) -> str:
    return "  ".join(
        f"{kind} {scores[kind].precision:.2f}/{scores[kind].recall:.2f}" for kind in kinds
    )


def print_result(result: Result, kinds: tuple[str, ...], show: bool) -> None:
    print(f"  {result.name:<40} {figures(result.scores, kinds)}")
    if show:
        for item in result.predicted:
            print(
                f"      predicted {item.kind:<8} {item.label}: about {item.about} "
                f"mentions {item.mentions} speakers {item.speakers} presenters {item.presenters}"
            )
    for line in result.problems:
        print(f"      {line}")


def print_overall(
    title: str, total: dict[str, Score], kinds: tuple[str, ...], target: float
) -> None:
    print(f"  {title} (micro-averaged; target {target:.2f}):")
    print(f"    {'':<16}{'precision':>10}{'recall':>8}   true  false  missed")
    for kind in kinds:
        score = total[kind]
        verdict = "PASS" if min(score.precision, score.recall) >= target else "BELOW"
        print(
            f"    {kind:<16}{score.precision:>10.3f}{score.recall:>8.3f}"
            f"{score.true:>7}{score.false:>7}{score.missed:>8}   {verdict}"
        )


def run_corpus(paths: list[Path], tree: Tree, matcher: object, show: bool) -> None:
    kinds = NOTE_KINDS + UPDATE_KINDS
    total = {kind: Score() for kind in kinds}
    print(f"Our corpus: {len(paths)} notes of {CORPUS}")
    print("  (precision/recall per note: " + ", ".join(kinds) + ")")
    for path in paths:
        expected = load_labels(path.with_name(f"{path.stem}.labels.yaml"), tree)
        predicted = predict(tag_sections(path.read_text(encoding="utf-8"), matcher), tree)  # type: ignore[arg-type]
        scores = {kind: Score() for kind in kinds}
        problems: list[str] = []
        score_note_level(scores, problems, note_level(expected, tree), note_level(predicted, tree))
        score_updates(scores, problems, expected, predicted)
        print_result(Result(path.stem, scores, problems, predicted), kinds, show)
        for kind in kinds:
            total[kind].add(scores[kind])
    print_overall(f"Our corpus, {len(paths)} notes", total, kinds, TARGETS["corpus"])


def run_shared(directory: Path, tree: Tree, matcher: object, show: bool) -> None:
    labels = load_shared(directory, tree)
    total = {kind: Score() for kind in NOTE_KINDS}
    print(f"Shared examples: {len(labels)} real notes of {directory}")
    for name, want in labels.items():
        text = (directory / f"{name}.md").read_text(encoding="utf-8")
        predicted = predict(tag_sections(text, matcher), tree)  # type: ignore[arg-type]
        scores = {kind: Score() for kind in NOTE_KINDS}
        problems: list[str] = []
        score_note_level(scores, problems, want, note_level(predicted, tree, named=True))
        print_result(Result(name, scores, problems, predicted), NOTE_KINDS, show)
        for kind in NOTE_KINDS:
            total[kind].add(scores[kind])
    print_overall(f"Shared examples, {len(labels)} notes", total, NOTE_KINDS, TARGETS["shared"])


def note_paths(names: list[str]) -> list[Path]:
    paths = sorted(CORPUS.glob("*.md"))
    paths = [path for path in paths if path.name != "README.md"]
    if names:
        paths = [path for path in paths if any(name in path.stem for name in names)]
    for path in paths:
        if not path.with_name(f"{path.stem}.labels.yaml").is_file():
            raise CorpusError(f"{path}: no {path.stem}.labels.yaml beside it")
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("names", nargs="*", help="only the notes whose name contains one of these")
    parser.add_argument("--show", action="store_true", help="print every predicted update too")
    parser.add_argument("--shared", type=Path, default=SHARED, help="real notes with labels.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="convene-bench-") as directory:
        app = seeded_database(Path(directory))
        try:
            with app.app_context():
                rows = db.session.execute(
                    select(Region.id, Region.slug, Region.parent_id, Region.kind)
                )
                rows = rows.all()
                slug_of = {rid: slug for rid, slug, _, _ in rows}
                tree = Tree(
                    slug_of,
                    {slug: slug_of.get(parent) for _, slug, parent, _ in rows},  # type: ignore[arg-type]
                    {slug: kind for _, slug, _, kind in rows},
                )
                matcher = region_matcher(db.session)
                try:
                    run_corpus(note_paths(args.names), tree, matcher, args.show)
                    if (args.shared / "labels.json").is_file():
                        print()
                        run_shared(args.shared, tree, matcher, args.show)
                    else:
                        print(f"\nShared examples: none at {args.shared}")
                except CorpusError as exc:
                    print(f"corpus error: {exc}", file=sys.stderr)
                    return 2
        finally:
            with app.app_context():
                db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
