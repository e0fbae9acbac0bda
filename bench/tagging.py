"""Tagging quality: how notes are split into updates and tagged, against a labelled corpus.

Not a test: it prints figures and the differences behind them, and always exits 0 (unless the
corpus itself is malformed). It measures quality, not time.

The corpus is bench/corpus/tagging/: each NAME.md is the Markdown body of a fictional call's
notes; NAME.expected.yaml beside it lists, in order, the updates a person reading the note expects
(written by hand, not copied from the tagger's output), each
    {title: ..., regions: [region slugs], speakers: [handles]}
The labelling rules are in bench/README.md ("bench/tagging.py").

On a fresh SQLite database in a temporary directory, its schema built by the migrations and the
region tree seeded (`seed_regions`, as `flask regions seed` does), each note goes through
`app.notes.services.tag_sections` with `region_matcher`, as saving a note does. Predicted updates
are matched to expected ones by title, normalized (case, accents, @handles and punctuation
ignored); an expected title the predicted one starts with also matches ("Peru" for the item
"Peru - the budget was cut", the tagger keeping the whole line as its title), and is listed.

Printed, per note and overall (micro-averaged over every note):
- updates: precision (matched / predicted updates) and recall (matched / expected updates);
- regions: precision and recall of (update, region) pairs, the regions being the update's
  automatic tags (`region_ids`); the countries a body only mentions are suggestions
  (`suggested_ids`), not tags, and are not counted;
- speakers: precision and recall of (update, speaker) pairs (`handles`).
An unmatched update's pairs count as misses (expected) or false positives (predicted). The
target is 0.95 for each of the six figures; PASS or BELOW is printed beside each. Every missed
and extra update, region and speaker is listed under its note, so the tagger can be fixed.

Usage (from the repository root):
    .venv/bin/python bench/tagging.py [--show] [NAME ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

import yaml
from alembic import command
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.cli import alembic_config
from app.db import db
from app.notes.services import Tagged, tag_sections
from app.taxonomy.models import Region
from app.taxonomy.services import HANDLE, region_matcher, seed_regions

CORPUS = Path(__file__).resolve().parent / "corpus" / "tagging"
TARGET = 0.95
KINDS = ("updates", "regions", "speakers")


# --- the corpus ------------------------------------------------------------------------------


@dataclasses.dataclass
class Item:
    """An update, expected or predicted."""

    title: str
    regions: list[str]
    speakers: list[str]
    kind: str = ""  # predicted only: preamble | heading | label | item
    first_line: str = ""  # predicted only: the start of its body

    @property
    def label(self) -> str:
        return repr(self.title) if self.title else "(text before the first heading)"


class CorpusError(Exception):
    pass


def load_expected(path: Path, slugs: set[str]) -> list[Item]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise CorpusError(f"{path}: expected a list of updates")
    items = []
    for number, entry in enumerate(data, 1):
        if not isinstance(entry, dict) or set(entry) != {"title", "regions", "speakers"}:
            raise CorpusError(f"{path}: update {number} needs exactly title, regions, speakers")
        regions = [str(slug) for slug in entry["regions"] or []]
        unknown = [slug for slug in regions if slug not in slugs]
        if unknown:
            raise CorpusError(f"{path}: update {number}: no region {', '.join(unknown)}")
        speakers = [str(handle).lstrip("@").lower() for handle in entry["speakers"] or []]
        items.append(Item(str(entry["title"] or ""), regions, speakers))
    return items


def note_paths(names: list[str]) -> list[Path]:
    paths = sorted(path for path in CORPUS.glob("*.md") if path.name != "README.md")
    if names:
        paths = [path for path in paths if any(name in path.stem for name in names)]
    for path in paths:
        if not path.with_suffix(".expected.yaml").is_file():
            raise CorpusError(f"{path}: no {path.stem}.expected.yaml beside it")
    return paths


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


def predict(tagged: list[Tagged], slug_of: dict[int, str]) -> list[Item]:
    items = []
    for entry in tagged:
        section = entry.section
        first = next((line.strip() for line in section.lines if line.strip()), "")
        items.append(
            Item(
                section.title,
                [slug_of[region_id] for region_id in entry.region_ids],
                list(entry.handles),
                section.kind,
                first,
            )
        )
    return items


# --- matching and scoring --------------------------------------------------------------------


def normalize_title(title: str) -> str:
    """ "México (@ana-lucia)" -> "mexico"."""
    text = unicodedata.normalize("NFKD", HANDLE.sub(" ", title).replace("’", "'"))
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    return " ".join(re.sub(r"[^\w]+|_", " ", text).split())


def match(expected: list[Item], predicted: list[Item]) -> dict[int, tuple[int, bool]]:
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

    @property
    def precision(self) -> float:
        predicted = self.true + self.false
        return self.true / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        expected = self.true + self.missed
        return self.true / expected if expected else 1.0


@dataclasses.dataclass
class NoteResult:
    name: str
    scores: dict[str, Score]
    problems: list[str]
    renamed: list[str]
    predicted: list[Item]


def score_note(name: str, expected: list[Item], predicted: list[Item]) -> NoteResult:
    scores = {kind: Score() for kind in KINDS}
    problems: list[str] = []
    renamed: list[str] = []
    pairs = match(expected, predicted)
    matched_predicted = {p_index for p_index, _ in pairs.values()}

    def tags(item: Item) -> str:
        return f"regions [{', '.join(item.regions)}], speakers [{', '.join(item.speakers)}]"

    for e_index, item in enumerate(expected):
        if e_index not in pairs:
            scores["updates"].missed += 1
            scores["regions"].missed += len(item.regions)
            scores["speakers"].missed += len(item.speakers)
            problems.append(f"MISSED UPDATE {item.label}: {tags(item)}")
            continue
        p_index, exact = pairs[e_index]
        got = predicted[p_index]
        scores["updates"].true += 1
        if not exact:
            renamed.append(f"{item.title!r} matched the predicted title {got.title!r}")
        for kind in ("regions", "speakers"):
            want, have = getattr(item, kind), getattr(got, kind)
            scores[kind].true += len(set(want) & set(have))
            missing = [value for value in want if value not in have]
            extra = [value for value in have if value not in want]
            scores[kind].missed += len(missing)
            scores[kind].false += len(extra)
            if missing:
                problems.append(f"missed {kind[:-1]} {', '.join(missing)} in {item.label}")
            if extra:
                problems.append(f"false {kind[:-1]} {', '.join(extra)} in {item.label}")
    for p_index, got in enumerate(predicted):
        if p_index in matched_predicted:
            continue
        scores["updates"].false += 1
        scores["regions"].false += len(got.regions)
        scores["speakers"].false += len(got.speakers)
        start = f'; its text starts "{got.first_line[:60]}"' if got.first_line else ""
        problems.append(f"EXTRA UPDATE {got.label} ({got.kind}): {tags(got)}{start}")
    return NoteResult(name, scores, problems, renamed, predicted)


# --- printing --------------------------------------------------------------------------------


def figures(scores: dict[str, Score]) -> str:
    return "  ".join(
        f"{kind} P {scores[kind].precision:.2f} R {scores[kind].recall:.2f}" for kind in KINDS
    )


def print_note(result: NoteResult, show: bool) -> None:
    updates = result.scores["updates"]
    counts = f"{updates.true + updates.false}/{updates.true + updates.missed}"
    print(f"  {result.name:<38} updates {counts:>5}  {figures(result.scores)}")
    if show:
        for item in result.predicted:
            regions, speakers = ", ".join(item.regions), ", ".join(item.speakers)
            print(f"      predicted {item.kind:<8} {item.label}: [{regions}] [{speakers}]")
    for line in result.renamed:
        print(f"      title: {line}")
    for line in result.problems:
        print(f"      {line}")


def print_overall(total: dict[str, Score], notes: int) -> None:
    print(f"Overall, {notes} notes (micro-averaged):")
    print(f"    {'':<10}{'precision':>10}{'recall':>8}   true  false  missed")
    for kind in KINDS:
        score = total[kind]
        print(
            f"    {kind:<10}{score.precision:>10.3f}{score.recall:>8.3f}"
            f"{score.true:>7}{score.false:>7}{score.missed:>8}"
        )
    print(f"  targets (>= {TARGET:.2f} each):")
    for kind in KINDS:
        for name in ("precision", "recall"):
            value = getattr(total[kind], name)
            verdict = "PASS" if value >= TARGET else "BELOW"
            print(f"    {kind} {name}: {value:.3f} {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("names", nargs="*", help="only the notes whose name contains one of these")
    parser.add_argument("--show", action="store_true", help="print every predicted update too")
    args = parser.parse_args()
    try:
        paths = note_paths(args.names)
    except CorpusError as exc:
        print(f"corpus error: {exc}", file=sys.stderr)
        return 2
    print(f"Convene bench: tagging quality on {len(paths)} notes of {CORPUS}")
    print("  (predicted updates / expected updates, then precision and recall per kind)")
    total = {kind: Score() for kind in KINDS}
    with tempfile.TemporaryDirectory(prefix="convene-bench-") as directory:
        app = seeded_database(Path(directory))
        try:
            with app.app_context():
                rows = db.session.execute(select(Region.id, Region.slug))
                slug_of = {region_id: slug for region_id, slug in rows}
                matcher = region_matcher(db.session)
                try:
                    for path in paths:
                        expected = load_expected(
                            path.with_suffix(".expected.yaml"), set(slug_of.values())
                        )
                        text = path.read_text(encoding="utf-8")
                        predicted = predict(tag_sections(text, matcher), slug_of)
                        result = score_note(path.stem, expected, predicted)
                        print_note(result, args.show)
                        for kind in KINDS:
                            total[kind].add(result.scores[kind])
                except CorpusError as exc:
                    print(f"corpus error: {exc}", file=sys.stderr)
                    return 2
        finally:
            with app.app_context():
                db.engine.dispose()
    print_overall(total, len(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
