"""A note's history: its revisions with what each changed, and restoring an old one.

Every save keeps a NoteRevision (services.save_note); the history page reads them back, each
with the difference from the one before. Restoring saves an old revision's title and text as
a new revision, so the history itself is never rewritten, and like any save it is refused when
the note changed since the editor looked at it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User

from .models import Note, NoteRevision
from .services import NoteInput, diff_bodies, save_note

# The fields besides the text whose change the history names, in the order it names them.
FIELDS = ("title", "status", "language", "call_id", "recording_url", "slug", "tag_overrides")


@dataclasses.dataclass(frozen=True)
class RevisionChange:
    """A revision and what it changed since the one before (nothing for the first)."""

    revision: NoteRevision
    is_first: bool
    diff: str  # unified diff of the text, "" when the text stayed the same
    changed: list[str]  # the names in FIELDS whose value changed


def _values(revision: NoteRevision) -> dict[str, object]:
    return {"title": revision.title, **(revision.fields or {})}


def note_history(session: Session, note: Note) -> list[RevisionChange]:
    """The note's revisions, newest first, each with its changes since the one before."""
    query = (
        sa.select(NoteRevision)
        .where(NoteRevision.note_id == note.id)
        .options(selectinload(NoteRevision.author))
        .order_by(NoteRevision.number)
    )
    changes: list[RevisionChange] = []
    previous: NoteRevision | None = None
    for revision in session.scalars(query):
        if previous is None:
            changes.append(RevisionChange(revision, True, "", []))
        else:
            before, after = _values(previous), _values(revision)
            diff = diff_bodies(
                previous.body,
                revision.body,
                f"revision {previous.number}",
                f"revision {revision.number}",
            )
            changed = [name for name in FIELDS if before.get(name) != after.get(name)]
            changes.append(RevisionChange(revision, False, diff, changed))
        previous = revision
    return changes[::-1]


def find_revision(session: Session, note: Note, number: int) -> NoteRevision | None:
    if not 0 < number < 2**31:  # larger numbers overflow SQLite's driver; none exist anyway
        return None
    query = sa.select(NoteRevision).where(
        NoteRevision.note_id == note.id, NoteRevision.number == number
    )
    return session.scalar(query)


def restore_revision(
    session: Session,
    note: Note,
    revision: NoteRevision,
    *,
    base_revision: int,
    author: User | None = None,
    now: dt.datetime | None = None,
) -> tuple[Note, bool]:
    """Save the revision's title and text as the note's newest revision; returns (note,
    whether anything changed). Only the text goes back: whether the note is published, its
    call, language, recording and tag corrections are decisions of today, kept as they are.
    Raises NoteConflict when the note is no longer at `base_revision`."""
    data = NoteInput.of(note, title=revision.title, body=revision.body)
    return save_note(session, data, note=note, author=author, base_revision=base_revision, now=now)
