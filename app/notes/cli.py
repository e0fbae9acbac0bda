"""`flask notes import|export|retag`: notes as Markdown files with YAML front matter, and
splitting and tagging every stored note again.

The format is described in notes/README.md and read and written by `files.py`. Import reads a
folder's `*.md` files (not README.md) in name order, each in a savepoint of its own: a file with
any error is reported as `path:line: message` and leaves nothing behind, the other files are saved,
and everything is committed once at the end. A note is identified by its slug, so importing the
same files again changes nothing; a file that would change an existing note fails unless the
import is told to replace notes (`--replace`): a file can carry another note's slug by mistake.
Export writes each note to `<slug>.md`, replacing each file atomically; importing what was
exported changes nothing either.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import multiprocessing
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from sqlalchemy.orm import Session, selectinload

from app.calls.models import Call
from app.calls.services import CallError, find_calls, find_series, get_call
from app.db import db
from app.taxonomy.matching import RegionMatcher
from app.taxonomy.services import slugify

from . import files
from .files import CallRef, FileError, NoteFile
from .models import Note, NoteStatus
from .services import (
    NoteError,
    NoteInput,
    Prepared,
    Tagging,
    find_note,
    prepare,
    retag_note,
    save_note,
)

notes_cli = AppGroup("notes", help="Import and export notes as Markdown files.")

# Where a service's complaint about a field points in the file.
FIELD_KEYS = {
    "title": ("title",),
    "body": ("body",),
    "status": ("status",),
    "language": ("language",),
    "slug": ("slug",),
    "recording_url": ("recording",),
    "tag_overrides": ("tags",),
}


# --- reading files ---------------------------------------------------------------------------


def note_files(directory: Path) -> list[Path]:
    """The note files of `directory`, by name: `*.md` but README.md and hidden files."""
    return sorted(
        (
            path
            for path in directory.iterdir()
            if path.suffix == ".md"
            and path.name != "README.md"
            and not path.name.startswith(".")
            and path.is_file()
        ),
        key=lambda path: path.name,
    )


def read_note_file(path: Path) -> NoteFile:
    """The note in the file at `path`; raises FileError."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileError(f"cannot read the file: {exc.strerror}", 1) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileError("the file is not UTF-8 text", raw[: exc.start].count(b"\n") + 1) from None
    return files.parse(text, path.stem)


# --- calls by series and date ----------------------------------------------------------------


def calls_on(session: Session, ref: CallRef) -> list[Call]:
    """The calls of the series `ref.series` (and those it continues) starting on `ref.date` in
    their series' zone."""
    series = find_series(session, ref.series)
    if series is None:
        return []
    around = dt.datetime.combine(ref.date, dt.time(12), dt.UTC)
    candidates = find_calls(
        session,
        series=series,
        start=around - dt.timedelta(days=2),
        end=around + dt.timedelta(days=2),
        public_only=False,
    )
    return [
        call
        for call in candidates
        if call.series is not None
        and call.start_at.astimezone(ZoneInfo(call.series.timezone)).date() == ref.date
    ]


def resolve_call(session: Session, note_file: NoteFile) -> int | None:
    """The id of the call the file names; raises FileError at the key at fault."""
    if note_file.call_id is not None:
        if get_call(session, note_file.call_id) is None:
            raise FileError(f"there is no call {note_file.call_id}", note_file.line("call_id"))
        return note_file.call_id
    ref = note_file.call
    if ref is None:
        return None
    if find_series(session, ref.series) is None:
        raise FileError(f"there is no series {ref.series!r}", note_file.line("call", "series"))
    calls = calls_on(session, ref)
    if not calls:
        raise FileError(
            f"series {ref.series!r} has no call on {ref.date:%Y-%m-%d}",
            note_file.line("call", "date"),
        )
    if len(calls) > 1:
        ids = ", ".join(str(call.id) for call in calls)
        raise FileError(
            f"series {ref.series!r} has {len(calls)} calls on {ref.date:%Y-%m-%d} "
            f"(ids {ids}): give call_id instead",
            note_file.line("call", "date"),
        )
    return calls[0].id


def call_reference(session: Session, call: Call) -> CallRef | None:
    """How a file names `call`: by series and date when that names it alone, else None."""
    if call.series is None:
        return None
    date = call.start_at.astimezone(ZoneInfo(call.series.timezone)).date()
    ref = CallRef(call.series.slug, date)
    return ref if calls_on(session, ref) == [call] else None


# --- import ----------------------------------------------------------------------------------


def save_file(
    session: Session,
    note_file: NoteFile,
    tagging: Tagging | RegionMatcher,
    *,
    replace: bool = False,
    now: dt.datetime | None = None,
) -> tuple[Note, str]:
    """Create the note with the file's slug, or with `replace` change it; returns the note and
    "created", "replaced" or "unchanged". Raises FileError naming the line at fault; the caller
    rolls back what the file may have changed (import_files runs each file in a savepoint). A
    batch passes one Tagging to every file (a region matcher alone, as `flask demo` passes,
    serves too)."""
    if isinstance(tagging, RegionMatcher):
        tagging = Tagging(session, tagging)
    for anchor, change in note_file.tags.items():
        for kind in ("regions", "mentions"):
            for slug in change.get(kind, {}).get("add", []):
                if slug not in tagging.regions_by_slug([slug]):
                    raise FileError(
                        f"tags.{anchor}.{kind}.add: there is no region {slug!r}",
                        note_file.line("tags", anchor, kind, "add"),
                    )
    note = find_note(session, note_file.slug)
    if note is None and slugify(note_file.slug) != note_file.slug:
        raise FileError(
            f"a new note's slug must have at most 80 characters, not {len(note_file.slug)}",
            note_file.line("slug"),
        )
    data = NoteInput(
        title=note_file.title,
        body=note_file.body,
        status=note_file.status,
        language=note_file.language,
        call_id=resolve_call(session, note_file),
        recording_url=note_file.recording,
        # A note found by its slug keeps it (saving a slug shortens it to 80 characters).
        slug="" if note is not None else note_file.slug,
        tag_overrides=note_file.tags,
        published_at=published_at(note_file, note),
    )
    title = note.title if note is not None else ""
    try:
        saved, changed = save_note(session, data, note=note, now=now, tagging=tagging)
    except (NoteError, CallError) as exc:
        path = FIELD_KEYS.get(exc.field, ())
        raise FileError(str(exc), note_file.line(*path)) from None
    # Refused after saving, so that "differs" is exactly what saving found (the caller rolls
    # the change back): re-importing what was exported stays "unchanged" without --replace.
    if note is not None and changed and not replace:
        raise FileError(
            f'note {note.slug!r} ("{title}") exists and differs from this file: '
            "give --replace to replace it",
            note_file.line("slug"),
        )
    outcome = "created" if note is None else "replaced" if changed else "unchanged"
    return saved, outcome


def published_at(note_file: NoteFile, note: Note | None) -> dt.datetime | None:
    """The publication time the file gives its note: None (the note's own, or the time of the
    import for a note it publishes) when it gives none, or the one the note has to the second,
    as export writes it."""
    published = note_file.published
    if published is None or note_file.status != NoteStatus.PUBLISHED:
        return None
    stored = note.published_at if note is not None else None
    if stored is not None and stored.replace(microsecond=0) == published:
        return None
    return published


@dataclasses.dataclass
class ImportResult:
    created: int = 0
    replaced: int = 0
    unchanged: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)  # "path:line: message"
    # "path: replaced note 'slug', now at revision N", for each note a file changed
    replacements: list[str] = dataclasses.field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)

    def summary(self) -> str:
        return (
            f"{self.created} created, {self.replaced} replaced, {self.unchanged} unchanged, "
            f"{self.failed} failed"
        )


# Worker processes prepare a batch's files (see `_prepared`) from this many files on.
PREPARE_AHEAD_FROM = 64


def import_files(
    session: Session,
    paths: Sequence[Path],
    *,
    dry_run: bool = False,
    replace: bool = False,
    workers: int | None = None,
) -> ImportResult:
    """Save each file in a savepoint of its own (rolled back if the file fails, or always for a
    dry run); the caller commits. `replace`: files may change the existing notes with their
    slugs (else such a file fails). One Tagging (region matcher, regions, people) serves the
    whole batch. `workers`: processes preparing the files ahead (None: one per CPU for a
    large batch, 0: none)."""
    result = ImportResult()
    tagging = Tagging(session)
    tagging.load_all_regions()
    slugs: dict[str, Path] = {}
    with (
        _prepared(paths, tagging, workers) as ahead,
        click.progressbar(paths, label="Importing notes") as bar,
    ):
        for path in bar:
            prepared = next(ahead, None)
            savepoint = session.begin_nested()
            try:
                note_file = read_note_file(path)
                if prepared is not None and prepared[0] == note_file.body:
                    tagging.prepared[prepared[0]] = prepared[1]
                if note_file.slug in slugs:
                    raise FileError(
                        f"slug {note_file.slug!r} is also the slug of {slugs[note_file.slug]}",
                        note_file.line("slug"),
                    )
                slugs[note_file.slug] = path
                saved, outcome = save_file(session, note_file, tagging, replace=replace)
            except FileError as exc:
                savepoint.rollback()
                result.errors.append(f"{path}:{exc.line}: {exc}")
                continue
            except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
                savepoint.rollback()
                result.errors.append(f"{path}:1: the note could not be saved: {exc.orig}")
                continue
            finally:
                if prepared is not None:  # unused when the note had not changed
                    tagging.prepared.pop(prepared[0], None)
            if outcome == "replaced":  # before a dry run's rollback takes the revision back
                line = f"{path}: replaced note {saved.slug!r}, now at revision {saved.revision}"
                result.replacements.append(line)
            if dry_run:
                savepoint.rollback()
            else:
                savepoint.commit()
            setattr(result, outcome, getattr(result, outcome) + 1)
    return result


# The region matcher of the import whose workers are being forked, and the bodies of the notes
# already stored, by slug: the workers inherit them.
_worker_matcher: RegionMatcher | None = None
_stored_bodies: dict[str, str] = {}


@contextlib.contextmanager
def _prepared(
    paths: Sequence[Path], tagging: Tagging, workers: int | None
) -> Iterator[Iterator[tuple[str, Prepared] | None]]:
    """For each path in order, its body split, tagged and rendered by a worker process, or
    None (an unreadable file, or no workers): about two thirds of an import's work needs no
    database, so with two cores the importing process does the database work while workers do
    that. Workers are forked (they inherit the matcher, and never touch the database: they
    leave with os._exit, so the parent's connections are not closed under it); without fork,
    or for a small batch, there are none and saving does the work itself."""
    global _worker_matcher, _stored_bodies
    if workers is None:
        workers = (os.cpu_count() or 1) if len(paths) >= PREPARE_AHEAD_FROM else 0
    if workers < 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield iter(lambda: None, 0)  # None for every path
        return
    _worker_matcher = tagging.matcher
    _stored_bodies = {
        slug: body for slug, body in tagging.session.execute(sa.select(Note.slug, Note.body))
    }
    pool = multiprocessing.get_context("fork").Pool(workers)
    try:
        yield pool.imap(_prepare_file, paths, chunksize=4)
    finally:
        pool.terminate()
        pool.join()
        _worker_matcher, _stored_bodies = None, {}


def _prepare_file(path: Path) -> tuple[str, Prepared] | None:
    """In a worker: the file's body and what saving it will need; None if it cannot be read
    (the importing process reads it again and reports the error) or if its note already has
    this text (re-importing unchanged files prepares nothing)."""
    assert _worker_matcher is not None
    try:
        note_file = read_note_file(path)
        if _stored_bodies.get(note_file.slug) == note_file.body:
            return None
        return note_file.body, prepare(note_file.body, _worker_matcher)
    except Exception:  # any failure is the importing process's to report
        return None


@notes_cli.command("import")
@click.argument(
    "directory", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--dry-run", is_flag=True, help="Check every file and count, but save nothing.")
@click.option(
    "--replace",
    is_flag=True,
    help="Let a file change the existing note with its slug (without it, such a file fails).",
)
def import_command(directory: Path, dry_run: bool, replace: bool) -> None:
    """Create notes from the Markdown files in DIR (see notes/README.md), and with --replace
    change the existing notes they differ from.

    A file with an error is reported and skipped; the others are saved. Exit status 1 if any
    file failed.
    """
    result = import_files(db.session, note_files(directory), dry_run=dry_run, replace=replace)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for error in result.errors:
        click.echo(error, err=True)
    for line in result.replacements:
        click.echo(line)
    click.echo(result.summary() + (" (dry run: nothing was saved)" if dry_run else ""))
    if result.failed:
        raise click.exceptions.Exit(1)


# --- export ----------------------------------------------------------------------------------


def note_file_of(session: Session, note: Note) -> NoteFile:
    """The file form of a stored note."""
    ref = call_reference(session, note.call) if note.call is not None else None
    return NoteFile(
        title=note.title,
        slug=note.slug,
        body=note.body,
        status=note.status,
        language=note.language,
        call=ref,
        call_id=note.call_id if ref is None else None,
        recording=note.recording_url,
        tags=note.tag_overrides or {},
        published=note.published_at if note.is_published else None,
    )


def notes_to_export(session: Session, drafts: bool) -> Sequence[Note]:
    query = sa.select(Note).options(selectinload(Note.call).selectinload(Call.series))
    if not drafts:
        query = query.where(Note.status == NoteStatus.PUBLISHED)
    return session.scalars(query.order_by(Note.slug)).all()


def _file_mode() -> int:
    """Read-write for the owner, and what the umask allows others (as `open` would create)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write a temporary file beside `path`, then rename it over `path`: readers see the old
    file or the new one, never part of one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def export_notes(session: Session, directory: Path, notes: Iterable[Note]) -> tuple[int, int]:
    """Write each note to `<slug>.md` in `directory`; returns (written, already up to date)."""
    written = same = 0
    mode = _file_mode()
    for note in notes:
        data = files.dump(note_file_of(session, note), note.slug).encode("utf-8")
        path = directory / f"{note.slug}.md"
        if path.is_file() and path.read_bytes() == data:
            same += 1
            continue
        write_atomically(path, data, mode)
        written += 1
    return written, same


@notes_cli.command("export")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--drafts/--no-drafts", default=True, show_default=True, help="Include draft notes.")
def export_command(directory: Path, drafts: bool) -> None:
    """Write every note to DIR/<slug>.md, in the format `flask notes import` reads."""
    notes = notes_to_export(db.session, drafts)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with click.progressbar(notes, label="Exporting notes") as bar:
            written, same = export_notes(db.session, directory, bar)
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or directory}: {exc.strerror}") from None
    click.echo(f"{len(notes)} notes exported to {directory}: {written} written, {same} unchanged.")


@notes_cli.command("retag")
@click.option("--dry-run", is_flag=True, help="Print what would change, but save nothing.")
def retag_command(dry_run: bool) -> None:
    """Split and tag every note again (after an upgrade of the tagger or a change of the region
    tree), keeping editors' corrections; print what changes, note by note."""
    session = db.session
    tagging = Tagging(session)
    tagging.load_all_regions()
    changed = 0
    notes = session.scalars(
        sa.select(Note).order_by(Note.id).options(selectinload(Note.updates))
    ).all()
    with click.progressbar(notes, label="Tagging notes", show_pos=True) as bar:
        report = [(note.slug, retag_note(session, note, tagging)) for note in bar]
    for slug, lines in report:
        if lines:
            changed += 1
            click.echo(f"{slug}:")
            for line in lines:
                click.echo(f"  {line}")
    verb = "would change" if dry_run else "changed"
    click.echo(f"{len(notes)} notes: {changed} {verb}, {len(notes) - changed} unchanged.")
    if dry_run:
        session.rollback()
    else:
        session.commit()
