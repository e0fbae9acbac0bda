"""`flask notes import|export`, and the demo notes that `flask demo` loads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import feedparser
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import config
from app.calls import services as calls
from app.calls.models import Call, Series
from app.db import utcnow
from app.notes import cli as notes_cli
from app.notes import services as note_services
from app.notes.models import Note, NoteRevision, Update
from app.notes.services import (
    NoteError,
    NoteInput,
    delete_note,
    find_note,
    published_notes,
    save_note,
    set_update_tags,
)
from app.taxonomy.models import Person

from ..conftest import coalition_series

DEMO = config.ROOT / "notes"
DEMO_FILES = sorted(path.name for path in DEMO.glob("*.md") if path.name != "README.md")


@pytest.fixture(params=["in process", "prepared by workers"], autouse=True)
def preparing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every import here runs twice: as a small batch (no worker processes), and with its files
    prepared by forked workers, as a large batch is, which must change nothing in what it does."""
    if request.param == "prepared by workers":
        monkeypatch.setattr(notes_cli, "PREPARE_AHEAD_FROM", 1)


def invoke(runner: Any, *args: str | Path) -> Any:
    return runner.invoke(args=["notes", *map(str, args)])


def snapshot(session: Session) -> tuple[Any, ...]:
    """Everything an import could change."""
    session.expire_all()
    notes = session.execute(
        sa.select(
            Note.id,
            Note.slug,
            Note.title,
            Note.body,
            Note.status,
            Note.language,
            Note.call_id,
            Note.recording_url,
            Note.tag_overrides,
            Note.revision,
            Note.updated_at,
        ).order_by(Note.id)
    ).all()
    counts = [
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (NoteRevision, Update, Person)
    ]
    return notes, counts


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def note_text(title: str, front: str = "", body: str = "## Asia (@rina)\n- A workshop.\n") -> str:
    return f"---\ntitle: {title}\n{front}---\n\n{body}"


@pytest.fixture
def series(session: Session) -> Series:
    """ "Coalition call": second Tuesdays of January, February and March 2026, 10:00 New York."""
    series = coalition_series(session, "2026-01-01", "FREQ=MONTHLY;BYDAY=2TU;COUNT=3")
    session.commit()
    assert series.slug == "coalition-call"
    return series


def call_on(series: Series, date: str) -> Call:
    return next(c for c in series.calls if c.start_at.date() == dt.date.fromisoformat(date))


# --- the demo notes, both ways ---------------------------------------------------------------


def test_demo_notes_round_trip(runner: Any, session: Session, tmp_path: Path) -> None:
    assert len(DEMO_FILES) == 6
    result = invoke(runner, "import", DEMO)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "6 created, 0 replaced, 0 unchanged, 0 failed"
    session.expire_all()
    notes = session.scalars(sa.select(Note).order_by(Note.slug)).all()
    assert [f"{note.slug}.md" for note in notes] == DEMO_FILES
    assert [note.status for note in notes].count("draft") == 1
    assert {note.revision for note in notes} == {1}
    assert all(note.call_id is None for note in notes)
    before = snapshot(session)

    again = invoke(runner, "import", DEMO)
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1] == "0 created, 0 replaced, 6 unchanged, 0 failed"
    assert snapshot(session) == before

    out = tmp_path / "out"
    exported = invoke(runner, "export", out)
    assert exported.exit_code == 0, exported.output
    assert f"6 notes exported to {out}: 6 written, 0 unchanged." in exported.output
    assert sorted(path.name for path in out.iterdir()) == DEMO_FILES  # no temporary files left
    first = {path.name: path.read_bytes() for path in out.iterdir()}
    reimported = invoke(runner, "import", out)
    assert reimported.exit_code == 0, reimported.output
    assert reimported.output.splitlines()[-1] == "0 created, 0 replaced, 6 unchanged, 0 failed"
    assert snapshot(session) == before

    second = invoke(runner, "export", out)
    assert second.exit_code == 0, second.output
    assert f"6 notes exported to {out}: 0 written, 6 unchanged." in second.output
    assert {path.name: path.read_bytes() for path in out.iterdir()} == first
    # Rewritten from scratch, the files are the same bytes too.
    for path in out.iterdir():
        path.unlink()
    assert invoke(runner, "export", out).exit_code == 0
    assert {path.name: path.read_bytes() for path in out.iterdir()} == first


def test_a_large_batch_is_prepared_by_worker_processes(
    runner: Any, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notes_cli, "PREPARE_AHEAD_FROM", 1)

    def not_here(*args: Any) -> None:
        raise AssertionError("a file was split and tagged by the importing process")

    monkeypatch.setattr(note_services, "prepare", not_here)
    result = invoke(runner, "import", DEMO)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "6 created, 0 replaced, 0 unchanged, 0 failed"
    assert session.scalar(sa.select(sa.func.count(Update.id))) > 6


def test_demo_notes_are_split_and_tagged(runner: Any, session: Session) -> None:
    assert invoke(runner, "import", DEMO).exit_code == 0
    session.expire_all()

    def tags(slug: str) -> dict[str, tuple[list[str], list[str]]]:
        note = find_note(session, slug)
        assert note is not None
        return {
            u.anchor: (sorted(r.slug for r in u.about_regions), [p.handle for p in u.speakers])
            for u in note.updates
        }

    # Pasted text with "•" bullets.
    # Country bullets inside a region's update stay in it and tag it.
    assert tags("forced-evictions-and-land-rights") == {
        "east-and-horn-of-africa": (["east-and-horn-of-africa", "ethiopia", "kenya"], ["wanjiru"]),
        "west-africa": (["nigeria", "senegal", "west-africa"], ["kofi_m"]),
        "asia": (["asia", "cambodia", "indonesia"], ["rina"]),
        "latin-america": (["brazil", "latin-america"], ["tomas"]),
        "ways-to-get-involved": ([], ["kofi_m", "rina"]),
    }
    data = tags("data-on-justice-needs")
    assert list(data) == [
        "introduction", "latam", "nigeria", "kenya", "asia", "ways-to-get-involved",
    ]  # fmt: skip
    assert data["latam"] == (["latin-america"], ["tomas"])
    assert data["kenya"] == (["kenya"], ["wanjiru"])
    # Markdown headings, and an editor's correction kept in the file's tags.
    escazu = tags("environmental-defenders-and-escazu")
    assert escazu["amazon-basin"] == (["brazil", "peru"], ["luiza"])
    assert escazu["global-updates"] == (["global"], ["marta"])
    assert escazu["southeast-asia"] == (["indonesia", "philippines", "southeast-asia"], ["rina"])
    paralegals = tags("community-paralegals-and-the-courts")
    assert paralegals["west-africa"] == (["west-africa"], ["kofi_m"])
    assert set(paralegals) >= {"east-and-horn-of-africa", "latin-america", "asia"}
    # @Rina and @rina are one person.
    assert session.scalar(sa.select(sa.func.count()).where(Person.handle.ilike("rina"))) == 1


# --- import ----------------------------------------------------------------------------------


def test_a_changed_file_replaces_its_note_only_when_asked(
    runner: Any, session: Session, tmp_path: Path
) -> None:
    path = write(tmp_path, "march.md", note_text("March call", "status: published\n"))
    write(tmp_path, "other.md", note_text("Other"))
    assert invoke(runner, "import", tmp_path).exit_code == 0
    before = snapshot(session)

    path.write_text(note_text("March call", "status: published\n", "## Kenya\n- New text.\n"))
    refused = invoke(runner, "import", tmp_path)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"{path}:1: note 'march' (\"March call\") exists and differs from this file: "
        "give --replace to replace it\n"
    )
    assert refused.output.splitlines()[-1] == "0 created, 0 replaced, 1 unchanged, 1 failed"
    assert snapshot(session) == before

    result = invoke(runner, "import", tmp_path, "--replace")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-2:] == [
        f"{path}: replaced note 'march', now at revision 2",
        "0 created, 1 replaced, 1 unchanged, 0 failed",
    ]
    session.expire_all()
    note = find_note(session, "march")
    assert note is not None and note.revision == 2
    assert [r.number for r in note.revisions] == [1, 2]
    assert note.body == "## Kenya\n- New text.\n"
    assert [u.anchor for u in note.updates] == ["kenya"]
    assert snapshot(session)[0][1] == before[0][1]  # the other note is as it was

    # Only the tags change: one more revision; then nothing, with or without --replace.
    path.write_text(
        note_text(
            "March call",
            "status: published\ntags:\n  kenya:\n    speakers:\n      add: ['@Wanjiru']\n",
            "## Kenya\n- New text.\n",
        )
    )
    assert invoke(runner, "import", tmp_path, "--replace").output.splitlines()[-1] == (
        "0 created, 1 replaced, 1 unchanged, 0 failed"
    )
    for again in (
        invoke(runner, "import", tmp_path),
        invoke(runner, "import", tmp_path, "--replace"),
    ):
        assert again.exit_code == 0, again.output
        assert again.output.splitlines()[-2:] == [
            "Importing notes",  # no note replaced: no line says so
            "0 created, 0 replaced, 2 unchanged, 0 failed",
        ]
    session.expire_all()
    note = find_note(session, "march")
    assert note is not None and note.revision == 3
    assert note.tag_overrides == {"kenya": {"speakers": {"add": ["wanjiru"], "remove": []}}}
    assert [p.handle for p in note.updates[0].speakers] == ["wanjiru"]


def test_a_file_with_another_notes_slug_replaces_it_only_when_asked(
    runner: Any, session: Session, tmp_path: Path
) -> None:
    """A file whose slug: is a note's (a copy edited into a new note, its slug left as it was)
    is refused, naming the note, and the files beside it are imported all the same."""
    write(tmp_path / "first", "march.md", note_text("March call", "status: published\n"))
    assert invoke(runner, "import", tmp_path / "first").exit_code == 0
    before = snapshot(session)
    april = write(tmp_path / "second", "april.md", note_text("April call", "slug: march\n"))
    write(tmp_path / "second", "may.md", note_text("May call"))
    result = invoke(runner, "import", tmp_path / "second")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{april}:3: note 'march' (\"March call\") exists and differs from this file: "
        "give --replace to replace it\n"
    )
    assert result.output.splitlines()[-1] == "1 created, 0 replaced, 0 unchanged, 1 failed"
    session.expire_all()
    assert snapshot(session)[0][0] == before[0][0]  # March is as it was
    assert find_note(session, "may") is not None

    result = invoke(runner, "import", tmp_path / "second", "--replace")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-2:] == [
        f"{april}: replaced note 'march', now at revision 2",
        "0 created, 1 replaced, 1 unchanged, 0 failed",
    ]
    session.expire_all()
    note = find_note(session, "march")
    assert note is not None and (note.title, note.status) == ("April call", "draft")


def test_calls_by_series_and_date(
    runner: Any, session: Session, series: Series, tmp_path: Path
) -> None:
    february = call_on(series, "2026-02-10")
    front = "call:\n  series: coalition-call\n  date: 2026-02-10\n"
    write(tmp_path / "in", "february.md", note_text("February", front))
    write(tmp_path / "in", "by-id.md", note_text("By id", f"call_id: {february.id}\n"))
    result = invoke(runner, "import", tmp_path / "in")
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert find_note(session, "february").call_id == february.id
    assert find_note(session, "by-id").call_id == february.id

    # Export names the call by series and date while that names it alone.
    assert invoke(runner, "export", tmp_path / "out").exit_code == 0
    text = (tmp_path / "out" / "by-id.md").read_text()
    assert "\ncall:\n  series: coalition-call\n  date: 2026-02-10\n" in text
    assert "call_id" not in text
    before = snapshot(session)
    assert invoke(runner, "import", tmp_path / "out").output.endswith("2 unchanged, 0 failed\n")
    assert snapshot(session) == before

    # An extra call of the series on the same day: the date no longer names one call.
    extra = calls.add_extra_call(
        session, title="", start="2026-02-10T18:00", timezone="Europe/Brussels", series=series
    )
    session.commit()
    assert invoke(runner, "export", tmp_path / "out").exit_code == 0
    assert f"\ncall_id: {february.id}\n" in (tmp_path / "out" / "by-id.md").read_text()
    assert invoke(runner, "import", tmp_path / "out").output.endswith("2 unchanged, 0 failed\n")
    result = invoke(runner, "import", tmp_path / "in")
    assert result.exit_code == 1
    assert (
        f"{tmp_path / 'in' / 'february.md'}:5: series 'coalition-call' has 2 calls on 2026-02-10 "
        f"(ids {february.id}, {extra.id}): give call_id instead"
    ) in result.stderr.splitlines()
    assert snapshot(session) == before


GOOD = note_text("Good", "status: published\n")
BAD_FILES = [
    ("---\ntitle: Bad\nstatus: draft: published\n---\n", 3,
     "invalid YAML: mapping values are not allowed here"),
    ("---\ntitle: Bad\n\nNo closing line.\n", 1, "the front matter has no closing --- line"),
    (note_text("Bad", "author: '@ghost'\n"), 3,
     "unknown key 'author'; the keys are title, slug, status, language, call, call_id, "
     "recording, tags, published"),
    (note_text("Bad", "language: en\nstatus: final\n"), 4, "status must be draft or published"),
    (note_text("Bad", "call:\n  series: no-such-series\n  date: 2026-02-10\n"), 4,
     "there is no series 'no-such-series'"),
    (note_text("Bad", "call:\n  series: coalition-call\n  date: 2026-02-11\n"), 5,
     "series 'coalition-call' has no call on 2026-02-11"),
    (note_text("Bad", "call_id: 999999\n"), 3, "there is no call 999999"),
    (note_text("Bad", "tags: [asia]\n"), 3,
     "tags must map update anchors to changes: "
     "{anchor: {regions|mentions|speakers: {add: [...], remove: [...]}}}"),
    (note_text("Bad", "tags:\n  asia:\n    regions:\n      add: [atlantis]\n"), 6,
     "tags.asia.regions.add: there is no region 'atlantis'"),
    ("---\ntitle: Bad\n---\n\n" + "x" * 200_001, 5,
     "The notes must be under 200,000 characters."),
    (b"---\ntitle: Bad\n---\n\nCaf\xe9\n", 5, "the file is not UTF-8 text"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "message"), BAD_FILES)
def test_a_bad_file_is_reported_and_the_others_imported(
    runner: Any,
    session: Session,
    series: Series,
    tmp_path: Path,
    text: str | bytes,
    line: int,
    message: str,
) -> None:
    write(tmp_path, "a-good.md", GOOD)
    bad = tmp_path / "bad.md"
    bad.write_bytes(text if isinstance(text, bytes) else text.encode())
    write(tmp_path, "z-good.md", GOOD)
    result = invoke(runner, "import", tmp_path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{bad}:{line}: {message}"]
    assert result.output.splitlines()[-1] == "2 created, 0 replaced, 0 unchanged, 1 failed"
    session.expire_all()
    assert session.scalars(sa.select(Note.slug).order_by(Note.slug)).all() == ["a-good", "z-good"]
    assert session.scalar(sa.select(sa.func.count(NoteRevision.id))) == 2


def test_a_bad_file_leaves_an_existing_note_alone(
    runner: Any, session: Session, tmp_path: Path
) -> None:
    path = write(tmp_path, "march.md", note_text("March", "status: published\n"))
    assert invoke(runner, "import", tmp_path).exit_code == 0
    before = snapshot(session)
    path.write_text(note_text("March, edited", "status: done\n", "## Kenya (@new)\n- x\n"))
    result = invoke(runner, "import", tmp_path)
    assert result.exit_code == 1
    assert result.stderr == f"{path}:3: status must be draft or published\n"
    assert snapshot(session) == before


def test_a_file_failing_halfway_leaves_nothing_behind(
    runner: Any, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever saving a file wrote before it failed (the note, its updates, new people) is
    rolled back with it, and the files before and after it are saved."""
    real_save = notes_cli.save_note

    def failing_save(session: Session, data: Any, **kwargs: Any) -> Any:
        saved = real_save(session, data, **kwargs)
        session.flush()
        if data.title == "Fails":
            raise NoteError("The notes are refused.", "body")
        return saved

    monkeypatch.setattr(notes_cli, "save_note", failing_save)
    write(tmp_path, "a.md", note_text("First", body="## Asia (@first)\n- x\n"))
    write(tmp_path, "b.md", note_text("Fails", body="## Asia (@ghost)\n- x\n"))
    write(tmp_path, "c.md", note_text("Last", body="## Asia (@last)\n- x\n"))
    result = invoke(runner, "import", tmp_path)
    assert result.exit_code == 1
    assert result.stderr == f"{tmp_path / 'b.md'}:5: The notes are refused.\n"
    session.expire_all()
    assert session.scalars(sa.select(Note.slug).order_by(Note.slug)).all() == ["a", "c"]
    assert session.scalars(sa.select(Person.handle).order_by(Person.handle)).all() == [
        "first",
        "last",
    ]
    assert session.scalar(sa.select(sa.func.count(Update.id))) == 2


def test_long_slugs_survive_a_round_trip(runner: Any, session: Session, tmp_path: Path) -> None:
    """Slugs have at most 80 characters, "-2" included: import finds the note again."""
    title = "A very long title " * 6
    first, _ = save_note(session, NoteInput(title=title, body="One"))
    second, _ = save_note(session, NoteInput(title=title, body="Two"))
    assert len(second.slug) == 80 and second.slug.endswith("-2")
    delete_note(session, first)
    session.commit()
    assert invoke(runner, "export", tmp_path).exit_code == 0
    before = snapshot(session)
    for _ in range(2):
        result = invoke(runner, "import", tmp_path)
        assert result.output.splitlines()[-1] == "0 created, 0 replaced, 1 unchanged, 0 failed"
    assert snapshot(session) == before

    # A new note's slug must have at most 80 characters, or it would not be found again.
    path = write(tmp_path, "new.md", note_text("New", f"slug: {'x' * 81}\n"))
    result = invoke(runner, "import", tmp_path)
    assert result.stderr == f"{path}:3: a new note's slug must have at most 80 characters, not 81\n"


def test_two_files_with_one_slug(runner: Any, session: Session, tmp_path: Path) -> None:
    write(tmp_path, "march.md", note_text("March"))
    second = write(tmp_path, "other.md", note_text("Other", "slug: march\n"))
    result = invoke(runner, "import", tmp_path)
    assert result.exit_code == 1
    assert (
        result.stderr == f"{second}:3: slug 'march' is also the slug of {tmp_path / 'march.md'}\n"
    )
    session.expire_all()
    note = find_note(session, "march")
    assert note is not None and note.title == "March"


def test_which_files_are_read(runner: Any, session: Session, tmp_path: Path) -> None:
    write(tmp_path, "README.md", "# Not a note\n")
    write(tmp_path, ".hidden.md", "not a note")
    write(tmp_path, "notes.txt", "not a note")
    write(tmp_path / "sub", "nested.md", "not a note")
    write(tmp_path, "only.md", note_text("Only"))
    result = invoke(runner, "import", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "1 created, 0 replaced, 0 unchanged, 0 failed"

    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke(runner, "import", empty)
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "0 created, 0 replaced, 0 unchanged, 0 failed"
    assert invoke(runner, "import", tmp_path / "missing").exit_code == 2


def test_dry_run_writes_nothing(runner: Any, session: Session, tmp_path: Path) -> None:
    before = snapshot(session)
    result = invoke(runner, "import", DEMO, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        "6 created, 0 replaced, 0 unchanged, 0 failed (dry run: nothing was saved)"
    )
    assert snapshot(session) == before

    path = write(tmp_path, "march.md", note_text("March"))
    write(tmp_path, "bad.md", note_text("Bad", "status: final\n"))
    assert invoke(runner, "import", tmp_path).exit_code == 1
    before = snapshot(session)
    path.write_text(note_text("March, edited"))
    write(tmp_path, "new.md", note_text("New"))
    result = invoke(runner, "import", tmp_path, "--dry-run")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "1 created, 0 replaced, 0 unchanged, 2 failed (dry run: nothing was saved)"
    )
    result = invoke(runner, "import", tmp_path, "--dry-run", "--replace")
    assert result.exit_code == 1
    assert result.output.splitlines()[-2:] == [
        f"{path}: replaced note 'march', now at revision 2",
        "1 created, 1 replaced, 0 unchanged, 1 failed (dry run: nothing was saved)",
    ]
    assert snapshot(session) == before


def test_publication_dates_survive_export_and_import_into_an_empty_database(
    runner: Any, session: Session, client: FlaskClient, tmp_path: Path
) -> None:
    """Moved to a new instance, old notes keep their dates: in the archive and the feeds they
    are not new. (The notes are deleted to stand for the new instance's empty database.)"""
    dates = {
        "april-call": dt.datetime(2025, 4, 9, 15, 30, tzinfo=dt.UTC),
        "march-call": dt.datetime(2025, 3, 12, 16, 0, tzinfo=dt.UTC),
    }
    for slug, published_at in dates.items():
        data = NoteInput(
            title=slug.replace("-", " ").capitalize(), body="Text.", status="published"
        )
        save_note(session, data, now=published_at)
    save_note(session, NoteInput(title="A draft", body="Text."))
    session.commit()
    assert invoke(runner, "export", tmp_path).exit_code == 0
    assert "\npublished: 2025-04-09T15:30:00Z\n" in (tmp_path / "april-call.md").read_text()
    for note in session.scalars(sa.select(Note)).all():
        delete_note(session, note)
    session.commit()

    # April is imported first (files go by name): the import's time would put it last.
    result = invoke(runner, "import", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "3 created, 0 replaced, 0 unchanged, 0 failed"
    session.expire_all()
    notes = session.scalars(sa.select(Note).order_by(Note.slug)).all()
    assert {note.slug: note.published_at for note in notes} == dates | {"a-draft": None}
    feed = feedparser.parse(client.get("/notes.atom").data)
    assert [entry.title for entry in feed.entries] == ["April call", "March call"]
    assert [entry.published for entry in feed.entries] == [
        "2025-04-09T15:30:00Z",
        "2025-03-12T16:00:00Z",
    ]
    assert [note.slug for note in published_notes(session)] == ["april-call", "march-call"]

    # Imported again, the files are unchanged; a date edited in a file is a change of its note.
    assert (
        invoke(runner, "import", tmp_path).output.splitlines()[-1].endswith("3 unchanged, 0 failed")
    )
    path = tmp_path / "march-call.md"
    path.write_text(path.read_text().replace("2025-03-12T16:00:00Z", "2025-03-13T09:00:00+02:00"))
    assert invoke(runner, "import", tmp_path).exit_code == 1
    assert invoke(runner, "import", tmp_path, "--replace").exit_code == 0
    session.expire_all()
    march = find_note(session, "march-call")
    assert march is not None and march.published_at == dt.datetime(2025, 3, 13, 7, tzinfo=dt.UTC)


# --- export ----------------------------------------------------------------------------------


def test_export_drafts_or_not(runner: Any, session: Session, tmp_path: Path) -> None:
    write(tmp_path / "in", "draft.md", note_text("A draft"))
    write(tmp_path / "in", "done.md", note_text("Done", "status: published\n"))
    assert invoke(runner, "import", tmp_path / "in").exit_code == 0

    result = invoke(runner, "export", tmp_path / "published", "--no-drafts")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "published").iterdir()] == ["done.md"]
    text = (tmp_path / "published" / "done.md").read_text()
    session.expire_all()
    published = find_note(session, "done").published_at
    assert text == (
        "---\ntitle: Done\nstatus: published\nlanguage: en\n"
        f"published: {published:%Y-%m-%dT%H:%M:%SZ}\n---\n\n## Asia (@rina)\n- A workshop.\n"
    )

    result = invoke(runner, "export", tmp_path / "all")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["done.md", "draft.md"]
    assert (tmp_path / "all" / "draft.md").read_text() == (
        "---\ntitle: A draft\nstatus: draft\nlanguage: en\n---\n\n## Asia (@rina)\n- A workshop.\n"
    )


def test_export_replaces_files_and_reports_what_it_cannot_write(
    runner: Any, tmp_path: Path
) -> None:
    write(tmp_path / "in", "march.md", note_text("March"))
    assert invoke(runner, "import", tmp_path / "in").exit_code == 0
    out = tmp_path / "out"
    stale = write(out, "march.md", "an older version\n")
    stale.chmod(0o600)
    result = invoke(runner, "export", out)
    assert result.exit_code == 0, result.output
    assert "1 written, 0 unchanged" in result.output
    assert stale.read_text().startswith("---\ntitle: March\n")
    assert [p.name for p in out.iterdir()] == ["march.md"]

    blocked = write(tmp_path, "a-file", "")
    result = invoke(runner, "export", blocked / "notes")
    assert result.exit_code == 1
    assert result.output == f"Error: {blocked / 'notes'}: Not a directory\n"


# --- flask demo ------------------------------------------------------------------------------


def test_demo_loads_the_demo_notes_once(runner: Any, session: Session) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Demo notes: 6 created, 0 already there" in result.output.splitlines()
    assert result.stderr == ""
    session.expire_all()
    series = calls.find_series(session, "coalition-call")
    past = calls.past_calls(
        session, utcnow(), limit=6, series=series, status="scheduled", public_only=False
    )
    assert len(past) >= 5
    notes = [find_note(session, name.removesuffix(".md")) for name in DEMO_FILES]
    assert all(note is not None for note in notes)
    # In file order, the notes go to the most recent past call, then the one before, ...
    expected = [call.id for call in past] + [None] * (len(notes) - len(past))
    assert [note.call_id for note in notes] == expected
    # ... and are dated the day after it, so that the archive shows the latest call first.
    archive = [note.slug for note in published_notes(session)]
    published = [note.slug for note in notes if note.is_published and note.call_id]
    assert archive[-len(published) :] == published
    for note in notes:
        if note.is_published and note.call is not None:
            assert note.published_at == note.call.end_at + dt.timedelta(days=1)
    before = snapshot(session)

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "Demo notes: 0 created, 6 already there" in again.output.splitlines()
    assert snapshot(session) == before


RETAG_BODY = """\
Regional Updates

  • Asia (@rina)
    • Paralegals trained in Nepal.
  • Latin America (@tomas)
    • Budget talks in Lima.
"""


def test_retag_splits_and_tags_every_note_again_keeping_corrections(
    runner: Any, session: Session
) -> None:
    note, _ = save_note(session, NoteInput(title="Call", body=RETAG_BODY, status="published"))
    set_update_tags(session, note, "asia", regions=["asia", "bhutan"], speakers=["@rina"])
    # As an older tagger left it: the Latin America update untagged, and one update in all.
    latin = next(u for u in note.updates if u.anchor == "latin-america")
    latin.regions, latin.auto_region_ids, latin.auto_mention_ids = [], [], []
    latin.mention_region_ids, latin.anchor = [], "regional-updates"
    session.commit()
    revision = note.revision

    dry = invoke(runner, "retag", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"{note.slug}:" in dry.output
    assert "+ latin-america: about latin-america; mentions peru; speakers tomas" in dry.output
    assert "- regional-updates" in dry.output
    assert dry.output.splitlines()[-1] == "1 notes: 1 would change, 0 unchanged."
    session.expire_all()
    assert {u.anchor for u in note.updates} == {"asia", "regional-updates"}  # nothing saved

    done = invoke(runner, "retag")
    assert (
        done.exit_code == 0 and done.output.splitlines()[-1] == "1 notes: 1 changed, 0 unchanged."
    )
    session.expire_all()
    by_anchor = {u.anchor: u for u in note.updates}
    assert [r.slug for r in by_anchor["latin-america"].about_regions] == ["latin-america"]
    assert [r.slug for r in by_anchor["latin-america"].mentioned_regions] == ["peru"]
    # The editor's correction stays, and re-tagging makes no revision: the text is the same.
    assert sorted(r.slug for r in by_anchor["asia"].about_regions) == ["asia", "bhutan"]
    assert note.revision == revision
    again = invoke(runner, "retag")
    assert again.output.splitlines()[-1] == "1 notes: 0 changed, 1 unchanged."


def test_corrections_follow_an_update_whose_title_changed(session: Session) -> None:
    note, _ = save_note(session, NoteInput(title="Call", body=RETAG_BODY, status="published"))
    set_update_tags(session, note, "asia", regions=["nepal"], speakers=["@rina", "@budi"])
    retitled = RETAG_BODY.replace("• Asia (@rina)", "• South Asia (@rina)")
    save_note(
        session,
        NoteInput(title="Call", body=retitled, status="published"),
        note=note,
        base_revision=note.revision,
    )
    update = next(u for u in note.updates if u.title.startswith("South Asia"))
    assert update.anchor == "south-asia"
    # The correction (Nepal added, Asia taken away) applies to the retitled update: Nepal
    # stays, beside the region its new title names.
    assert sorted(r.slug for r in update.about_regions) == ["nepal", "south-asia"]
    assert sorted(p.handle for p in update.speakers) == ["budi", "rina"]
    assert "asia" not in note.tag_overrides and "south-asia" in note.tag_overrides


def test_corrections_of_mentions_are_imported_and_exported(
    runner: Any, session: Session, tmp_path: Path
) -> None:
    tags = "tags:\n  asia:\n    mentions:\n      add: [bhutan]\n      remove: [nepal]\n"
    body = "## Asia (@rina)\n- A workshop in Nepal.\n"
    write(tmp_path / "in", "asia.md", note_text("Asia call", "status: published\n" + tags, body))
    result = invoke(runner, "import", tmp_path / "in")
    assert result.exit_code == 0, result.output
    note = find_note(session, "asia")
    assert note is not None
    [asia] = note.updates
    assert [r.slug for r in asia.mentioned_regions] == ["bhutan"]
    assert [r.slug for r in asia.about_regions] == ["asia"]
    assert invoke(runner, "export", tmp_path / "out").exit_code == 0
    exported = (tmp_path / "out" / "asia.md").read_text(encoding="utf-8")
    assert "mentions:\n      add:\n        - bhutan\n      remove:\n        - nepal\n" in exported
    again = invoke(runner, "import", tmp_path / "out")
    assert again.output.splitlines()[-1].startswith("0 created, 0 replaced, 1 unchanged")

    bad = tags.replace("[bhutan]", "[atlantis]")
    write(tmp_path / "bad", "asia.md", note_text("Other call", bad, body))
    failed = invoke(runner, "import", tmp_path / "bad")
    assert failed.exit_code == 1
    assert "tags.asia.mentions.add: there is no region 'atlantis'" in failed.stderr
