"""Splitting and tagging at the size limit: notes of 200,000 characters in hostile shapes.

For each shape (10,000 link references, 20,000 bullets, 8,000 headings, a long note as teams
paste them, made of the tagging corpus's pasted notes), in the same run:
- **reference**: markdown-it-py's full CommonMark parse of the text (blocks and inline), the
  work any Markdown tool does on it;
- **split+tag**: `tag_sections` with the region matcher, as the preview and saving do; target
  under 1 s (PASS or BELOW), and its ratio to the reference;
- **preview**: split, tag and render every update's HTML (`prepare`), what the editor's live
  preview does;
- **save**: `save_note` of a new published note on SQLite and its flush (updates, tags,
  revision, search index), rolled back afterwards; a note of more than MAX_UPDATES updates is
  refused once split and tagged (the time to refuse it is shown).
Each figure is the best of three runs (the first also pays for loading the gazetteer).

Usage (from the repository root):
    .venv/bin/python bench/splitting.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from markdown_it import MarkdownIt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tagging import CORPUS, seeded_database

from app.db import db
from app.notes import render
from app.notes.services import MAX_BODY, NoteInput, NoteTooLarge, save_note, tag_sections
from app.taxonomy.matching import region_matcher

TARGET_SECONDS = 1.0
RUNS = 3


def fill(make: Callable[[int], str]) -> str:
    """Lines from `make(n)` up to the size limit."""
    parts, size, number = [], 0, 0
    while True:
        line = make(number)
        if size + len(line) > MAX_BODY:
            return "".join(parts)
        parts.append(line)
        size += len(line)
        number += 1


def shapes() -> dict[str, str]:
    pasted = [path.read_text(encoding="utf-8") for path in sorted(CORPUS.glob("p*.md"))]
    return {
        "10,000 link references": fill(lambda n: f"[r{n}]: https://example.org/{n}\n[r{n}] ")[
            :MAX_BODY
        ],
        "20,000 bullets": fill(lambda n: f"- Kenya {n}\n"),
        "8,000 headings": fill(lambda n: f"## Heading {n}\n"),
        "pasted notes": fill(lambda n: pasted[n % len(pasted)] + "\n"),
    }


def preview_of(text: str, matcher: object) -> None:
    """What the editor's preview does: split, tag and render every update (`prepare`, without
    its refusal of too many updates, which the preview shows as a 413)."""
    for item in tag_sections(text, matcher):  # type: ignore[arg-type]
        render.render(item.section.body)


def best(action: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    reference = MarkdownIt("commonmark").enable("table")
    print("Convene bench: splitting and tagging notes at the size limit (best of 3 runs)")
    print(f"  {'shape':<24}{'chars':>9}{'updates':>9}{'reference':>11}{'split+tag':>11}"
          f"{'ratio':>7}{'preview':>9}{'save':>8}   target < {TARGET_SECONDS:.0f} s")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="convene-bench-") as directory:
        app = seeded_database(Path(directory))
        try:
            with app.app_context():
                matcher = region_matcher(db.session)
                for name, text in shapes().items():
                    parse = best(lambda text=text: reference.parse(text))
                    tag = best(lambda text=text: tag_sections(text, matcher))
                    preview = best(lambda text=text: preview_of(text, matcher))
                    updates = len(tag_sections(text, matcher))

                    refused: list[str] = []

                    def save(text: str = text, refused: list[str] = refused) -> None:
                        data = NoteInput(title="Bench", body=text, status="published")
                        try:
                            save_note(db.session, data, matcher=matcher)
                            db.session.flush()
                        except NoteTooLarge:
                            refused.append("refused")
                        db.session.rollback()

                    saving = best(save)
                    verdict = "PASS" if tag < TARGET_SECONDS else "BELOW"
                    print(
                        f"  {name:<24}{len(text):>9,}{updates:>9,}{parse:>10.3f}s{tag:>10.3f}s"
                        f"{tag / parse:>7.2f}{preview:>8.3f}s{saving:>7.2f}s   {verdict}"
                        + (" (save refused: too many updates)" if refused else "")
                    )
        finally:
            with app.app_context():
                db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
