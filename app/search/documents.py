"""What search indexes for each published update, and keeping the index in step with the notes.

A document is built from an update and what surrounds it: its heading and text, the note's
title, its speakers (handles, names), its regions (names) and, for filtering, the ids of its
regions and of every region above them, its speakers, its series (and the series it continues),
its language and its date: the call's date in the call's zone, else the day the note was
published.

The index changes in the same transaction as the notes: every flush records which notes it
touched (a note, an update, the call a note belongs to, a speaker's name, a region's name), and
before the commit those notes' documents are written again, or removed when the note is gone or
no longer published. A search therefore sees exactly what is committed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event, orm
from sqlalchemy.orm import Session

from app.calls.models import Call, Series
from app.notes.models import Note, NoteStatus, Update, update_regions, update_speakers
from app.taxonomy.models import Person, Region

from . import backends
from .backends import MARK_END, MARK_START

# The characters that mark highlighted words in snippets may not appear in indexed text.
_MARKS = re.compile(f"[{MARK_START}{MARK_END}]")
PENDING = "search_pending_notes"


@dataclasses.dataclass
class Document:
    update_id: int
    note_id: int
    title: str
    body: str
    note_title: str
    people: str
    places: str
    region_ids: list[int]
    speaker_ids: list[int]
    series_ids: list[int]
    language: str
    day: dt.date


def _clean(text: str) -> str:
    return _MARKS.sub("", text)


class RegionTree:
    """Every region's parent, read once, to find the regions above a tagged one."""

    def __init__(self, session: Session) -> None:
        self.parents = {
            region_id: parent_id
            for region_id, parent_id in session.execute(sa.select(Region.id, Region.parent_id))
        }

    def with_ancestors(self, ids: Iterable[int]) -> list[int]:
        found: dict[int, None] = {}
        for region_id in ids:
            current: int | None = region_id
            while current is not None and current not in found:
                found[current] = None
                current = self.parents.get(current)
        return sorted(found)


class SeriesTree:
    """Every series' predecessor, read once, to find the series a series continues."""

    def __init__(self, session: Session) -> None:
        self.previous = {
            series_id: previous_id
            for series_id, previous_id in session.execute(sa.select(Series.id, Series.previous_id))
        }

    def lineage(self, series_id: int | None) -> list[int]:
        """As `series_lineage`, by ids."""
        ids: list[int] = []
        while series_id is not None and series_id not in ids:
            ids.append(series_id)
            series_id = self.previous.get(series_id)
        return ids


def series_lineage(series: Series | None) -> list[int]:
    """The series and the series it continues (closed and continued when its rule changed)."""
    ids = []
    while series is not None and series.id not in ids:
        ids.append(series.id)
        series = series.previous
    return ids


def note_day(note: Note) -> dt.date:
    call = note.call
    return day_of(call.start_at if call else None, call.timezone if call else None, note)


def day_of(call_start: dt.datetime | None, call_timezone: str | None, note: Any) -> dt.date:
    """A note's day: its call's date in the call's zone, else the day it was published
    (`note`: a Note or a row with published_at and created_at)."""
    if call_start is not None and call_timezone is not None:
        return call_start.astimezone(ZoneInfo(call_timezone)).date()
    return (note.published_at or note.created_at).date()


def _grouped(rows: Iterable[Any]) -> dict[int, list[Any]]:
    """Rows whose first column is an update id, by that id, in the rows' order."""
    groups: dict[int, list[Any]] = {}
    for row in rows:
        groups.setdefault(row[0], []).append(row)
    return groups


def documents(
    session: Session, note_ids: list[int], regions: RegionTree, series: SeriesTree
) -> list[Document]:
    """The documents of these notes' published updates, read as stored (the session is flushed).

    Plain rows, not ORM objects: an import re-indexes a thousand notes at its commit, and
    loading them again through the identity map (to be sure of reading what is stored) cost
    more than building the documents.
    """
    notes = session.execute(
        sa.select(
            Note.id,
            Note.title,
            Note.language,
            Note.published_at,
            Note.created_at,
            Call.start_at,
            Call.timezone,
            Call.series_id,
        )
        .outerjoin(Call, Call.id == Note.call_id)
        .where(Note.id.in_(note_ids), Note.status == NoteStatus.PUBLISHED)
    ).all()
    if not notes:
        return []
    published = [note.id for note in notes]
    of_notes = sa.select(Update.id).where(Update.note_id.in_(published)).scalar_subquery()
    tagged = _grouped(
        session.execute(
            sa.select(update_regions.c.update_id, Region.id, Region.name)
            .join(Region, Region.id == update_regions.c.region_id)
            .where(update_regions.c.update_id.in_(of_notes))
            .order_by(update_regions.c.update_id, Region.name)  # as Update.regions orders them
        )
    )
    spoke = _grouped(
        session.execute(
            sa.select(update_speakers.c.update_id, Person.id, Person.handle, Person.display_name)
            .join(Person, Person.id == update_speakers.c.person_id)
            .where(update_speakers.c.update_id.in_(of_notes))
            .order_by(update_speakers.c.update_id, Person.handle)  # as Update.speakers does
        )
    )
    by_id = {note.id: note for note in notes}
    result = []
    updates = session.execute(
        sa.select(Update.id, Update.note_id, Update.title, Update.text)
        .where(Update.note_id.in_(published))
        .order_by(Update.note_id, Update.position)
    )
    for update_id, note_id, title, text in updates:
        note = by_id[note_id]
        body = text
        if title and body.startswith(title):
            body = body[len(title) :].lstrip()
        places = tagged.get(update_id, [])
        people = spoke.get(update_id, [])
        result.append(
            Document(
                update_id=update_id,
                note_id=note_id,
                title=_clean(title),
                body=_clean(body),
                note_title=_clean(note.title),
                people=_clean(
                    " ".join(f"@{handle} {name}".strip() for _, _, handle, name in people)
                ),
                places=_clean(" ".join(name for _, _, name in places)),
                region_ids=regions.with_ancestors(region_id for _, region_id, _ in places),
                speaker_ids=sorted(person_id for _, person_id, _, _ in people),
                series_ids=series.lineage(note.series_id),
                language=note.language,
                day=day_of(note.start_at, note.timezone, note),
            )
        )
    return result


def reindex_notes(session: Session, note_ids: Iterable[int]) -> int:
    """Write the documents of these notes again (none for a deleted or draft note)."""
    ids = sorted(set(note_ids))
    if not ids:
        return 0
    backend = backends.for_session(session)
    written = 0
    regions, series = RegionTree(session), SeriesTree(session)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        backend.remove_notes(session, chunk)
        built = documents(session, chunk, regions, series)
        backend.add(session, built)
        written += len(built)
    return written


def all_note_ids(session: Session) -> list[int]:
    return list(session.scalars(sa.select(Note.id).order_by(Note.id)))


def reindex_all(session: Session, progress: Any = None, chunk: int = 200) -> int:
    """Rebuild the whole index: every published update of every note."""
    backend = backends.for_session(session)
    backend.clear(session)
    ids = all_note_ids(session)
    written = 0
    regions, series = RegionTree(session), SeriesTree(session)
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        built = documents(session, part, regions, series)
        backend.add(session, built)
        written += len(built)
        if progress is not None:
            progress(len(part))
    backend.optimize(session)
    return written


# --- keeping the index in step ------------------------------------------------------------------


def _changed(obj: Any, *names: str) -> bool:
    """True when a persistent object's attributes among `names` change in this flush."""
    state = sa.inspect(obj)
    return state.persistent and any(state.attrs[name].history.has_changes() for name in names)


def _touched_notes(session: Session) -> set[int]:
    """Ids of the notes whose documents this flush may have changed."""
    note_ids: set[int] = set()
    calls: set[int] = set()
    people: set[int] = set()
    regions: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Note):
            note_ids.add(obj.id)
        elif isinstance(obj, Update):
            note_ids.add(obj.note_id)
        elif isinstance(obj, Call) and _changed(obj, "start_at", "timezone", "series_id"):
            calls.add(obj.id)
        elif isinstance(obj, Person) and _changed(obj, "handle", "display_name"):
            people.add(obj.id)
        elif isinstance(obj, Region) and _changed(obj, "name"):
            regions.add(obj.id)
    connection = session.connection()
    if calls:
        note_ids.update(connection.scalars(sa.select(Note.id).where(Note.call_id.in_(calls))))
    if people:
        spoke = sa.select(Update.note_id).join(
            update_speakers, update_speakers.c.update_id == Update.id
        )
        note_ids.update(connection.scalars(spoke.where(update_speakers.c.person_id.in_(people))))
    if regions:
        tagged = sa.select(Update.note_id).join(
            update_regions, update_regions.c.update_id == Update.id
        )
        note_ids.update(connection.scalars(tagged.where(update_regions.c.region_id.in_(regions))))
    note_ids.discard(None)  # type: ignore[arg-type]
    return note_ids


@event.listens_for(orm.Session, "after_flush")
def _record_touched_notes(session: Session, flush_context: Any) -> None:
    touched = _touched_notes(session)
    if touched:
        session.info.setdefault(PENDING, set()).update(touched)


@event.listens_for(orm.Session, "before_commit")
def _reindex_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the notes it touched are indexed when the transaction commits
    session.flush()
    pending = session.info.pop(PENDING, None)
    if pending:
        reindex_notes(session, pending)
        session.flush()


@event.listens_for(orm.Session, "after_transaction_end")
def _forget_touched_notes(session: Session, transaction: orm.SessionTransaction) -> None:
    # Only when the whole transaction ends: notes touched in a savepoint that was rolled back
    # are simply indexed again from what is stored.
    if transaction.parent is None:
        session.info.pop(PENDING, None)
