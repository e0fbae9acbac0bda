"""JSON API for notes: GET /api/notes and GET /api/notes/<id>.

Thin: parse and check the query, ask the services, serialize. Only published notes exist here:
a draft is in no list and its id is a 404. Bad input is a 400 whose message names the parameter
at fault (an unknown region, speaker or call given as a filter included).

Filters: `region` (a slug; its sub-regions count too), `speaker` (a handle, "@" optional),
`call` (an id) and `from`/`to` on the publication instant. A date alone in `to` includes that
whole day (UTC); a date and time is an instant, and both bounds are inclusive.

An update's `regions` are what it is about (its title, its region bullets), its `mentions` the
places its text names; a region filter finds both. `presenters` are the speakers giving it.
A note's `regions` and `mentions` gather its updates'.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, jsonify
from sqlalchemy.orm import Session, selectinload

from app.api import MAX_ID, MAX_OFFSET, bad, int_arg, parse_instant, text_arg
from app.calls.models import Call
from app.db import db
from app.taxonomy.services import descendant_ids, find_person, find_region

from . import services
from .models import Note, NoteStatus, Update, update_regions, update_speakers

bp = Blueprint("notes_api", __name__, url_prefix="/api")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
ONE_DAY = dt.timedelta(days=1)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --- query arguments -------------------------------------------------------------------------


def _range() -> tuple[dt.datetime | None, dt.datetime | None]:
    """The publication range as [start, end) in UTC; either may be open."""
    start_text, end_text = text_arg("from"), text_arg("to")
    start = None if start_text is None else parse_instant(start_text, "from")
    if end_text is None:
        return start, None
    to = parse_instant(end_text, "to")
    end: dt.datetime | None
    try:
        # A date includes its whole day; an instant includes itself.
        end = to + (ONE_DAY if _DATE.fullmatch(end_text) else dt.timedelta(microseconds=1))
    except OverflowError:
        end = None  # the end of time
    if start is not None and end is not None and start >= end:
        bad(f"from: {start_text!r} is after to ({end_text!r}).")
    return start, end


def _filters(session: Session) -> list[Any]:
    """The WHERE clauses of the list's query, from the query string."""
    clauses: list[Any] = [Note.status == NoteStatus.PUBLISHED]

    slug = text_arg("region")
    if slug is not None:
        region = find_region(session, slug)
        if region is None:
            bad(f"region: no region {slug!r}.")
        tagged = (
            sa.select(Update.note_id)
            .join(update_regions, update_regions.c.update_id == Update.id)
            .where(update_regions.c.region_id.in_(descendant_ids(session, region)))
        )
        clauses.append(Note.id.in_(tagged))

    handle = text_arg("speaker")
    if handle is not None:
        person = find_person(session, handle)
        if person is None or not _has_published_updates(session, person.id):
            bad(f"speaker: no speaker {handle!r}.")
        spoke = (
            sa.select(Update.note_id)
            .join(update_speakers, update_speakers.c.update_id == Update.id)
            .where(update_speakers.c.person_id == person.id)
        )
        clauses.append(Note.id.in_(spoke))

    call_id = int_arg("call", 0, 1, MAX_ID)
    if call_id:
        call = session.get(Call, call_id)
        if call is None or not _is_public(call):
            bad(f"call: no call {call_id}.")
        clauses.append(Note.call_id == call_id)

    start, end = _range()
    if start is not None:
        clauses.append(Note.published_at >= start)
    if end is not None:
        clauses.append(Note.published_at < end)
    return clauses


def _has_published_updates(session: Session, person_id: int) -> bool:
    """Whether someone speaks in a published note (people seen only in drafts are not shown)."""
    query = (
        sa.select(update_speakers.c.update_id)
        .join(Update, Update.id == update_speakers.c.update_id)
        .join(Note, Note.id == Update.note_id)
        .where(update_speakers.c.person_id == person_id, Note.status == NoteStatus.PUBLISHED)
    )
    return session.scalar(sa.select(query.exists())) or False


# --- serialization ---------------------------------------------------------------------------


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _is_public(call: Call) -> bool:
    return call.is_public and (call.series is None or call.series.is_public)


def _call_json(call: Call | None) -> dict[str, Any] | None:
    """The note's call; a call that is not public is not revealed."""
    if call is None or not _is_public(call):
        return None
    return {
        "id": call.id,
        "start": call.start_at.astimezone(ZoneInfo(call.timezone)).isoformat(),
        "series": call.series.slug if call.series else None,
    }


def _note_url(note: Note) -> str:
    return f"{current_app.config['BASE_URL']}/notes/{note.slug}"


def note_summary(note: Note) -> dict[str, Any]:
    """The API's view of a note in a list."""
    regions = [region.slug for update in note.updates for region in update.about_regions]
    mentions = [r.slug for update in note.updates for r in update.mentioned_regions]
    speakers = [person.handle for update in note.updates for person in update.speakers]
    return {
        "id": note.id,
        "slug": note.slug,
        "title": note.title,
        "status": note.status,
        "language": note.language,
        "published_at": _utc(note.published_at) if note.published_at else None,
        "call": _call_json(note.call),
        "recording_url": note.recording_url,
        "url": _note_url(note),
        "regions": list(dict.fromkeys(regions)),
        "mentions": [slug for slug in dict.fromkeys(mentions) if slug not in regions],
        "speakers": list(dict.fromkeys(speakers)),
    }


def note_json(note: Note, suggested: dict[str, Sequence[Any]]) -> dict[str, Any]:
    """The API's view of one note, with its updates."""
    url = _note_url(note)
    return {
        **note_summary(note),
        "body": note.body,
        "html": note.body_html,
        "revision": note.revision,
        "updates": [
            {
                "id": update.id,
                "anchor": update.anchor,
                "position": update.position,
                "title": update.title,
                "html": update.body_html,
                "text": update.text,
                "url": f"{url}#{update.anchor}",
                "regions": [{"slug": r.slug, "name": r.name} for r in update.about_regions],
                "mentions": [{"slug": r.slug, "name": r.name} for r in update.mentioned_regions],
                "speakers": [{"handle": p.handle, "name": p.display_name} for p in update.speakers],
                "presenters": [p.handle for p in update.presenters],
                "suggested_regions": [r.slug for r in suggested.get(update.anchor, [])],
            }
            for update in note.updates
        ],
    }


def _loaded() -> Any:
    """Load what a note's summary shows, in a few queries for a whole page."""
    updates = selectinload(Note.updates)
    return (
        updates.selectinload(Update.regions),
        updates.selectinload(Update.speakers),
        selectinload(Note.call).selectinload(Call.series),
    )


# --- endpoints -------------------------------------------------------------------------------


@bp.get("/notes")
def list_notes() -> Response:
    """Published notes, newest first."""
    session = db.session
    clauses = _filters(session)
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = int_arg("offset", 0, 0, MAX_OFFSET)
    total = session.scalar(sa.select(sa.func.count(Note.id)).where(*clauses)) or 0
    query = (
        sa.select(Note)
        .where(*clauses)
        .options(*_loaded())
        .order_by(Note.published_at.desc(), Note.id.desc())
        .limit(limit)
        .offset(offset)
    )
    notes = session.scalars(query).all()
    return jsonify(
        notes=[note_summary(note) for note in notes], total=total, limit=limit, offset=offset
    )


@bp.get("/notes/<int:note_id>")
def show_note(note_id: int) -> Response:
    """One published note with its updates."""
    session = db.session
    note = services.get_note(session, note_id)
    if note is None or not note.is_published:
        abort(404, f"id: no note {note_id}.")
    return jsonify(note_json(note, services.suggested_regions(session, note)))
