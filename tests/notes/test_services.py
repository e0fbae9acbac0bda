"""Saving notes: revisions, conflicts, rendering on write, bad input."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.notes.models import Note, NoteRevision, Update
from app.notes.services import NoteConflict, NoteError, NoteInput, save_note

BODY = "## Asia (@rina)\n- Workshop in Bandung.\n\n## Kenya\n- Paralegals.\n"


def count(session: Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_revision_per_change_and_none_without(session: Session) -> None:
    note, changed = save_note(session, NoteInput(title="October call", body=BODY))
    assert changed and note.revision == 1 and note.slug == "october-call"
    assert '<h2 id="asia">Asia (@rina)</h2>' in note.body_html
    assert "<li>Workshop in Bandung.</li>" in note.body_html
    _, changed = save_note(session, NoteInput(title="October call", body=BODY), note=note)
    assert not changed and note.revision == 1
    _, changed = save_note(
        session, NoteInput(title="October call", body=BODY + "\nMore.\n"), note=note
    )
    assert changed and note.revision == 2
    numbers = session.scalars(sa.select(NoteRevision.number).where(NoteRevision.note_id == note.id))
    assert sorted(numbers) == [1, 2]


def test_saving_over_a_newer_revision_is_refused_with_the_difference(session: Session) -> None:
    note, _ = save_note(session, NoteInput(title="October call", body=BODY))
    save_note(
        session, NoteInput(title="October call", body=BODY + "- Another editor.\n"), note=note
    )
    with pytest.raises(NoteConflict) as conflict:
        save_note(
            session,
            NoteInput(title="October call", body=BODY + "- Mine.\n"),
            note=note,
            base_revision=1,
        )
    assert "-- Another editor." in conflict.value.diff
    assert "+- Mine." in conflict.value.diff
    session.expire_all()
    assert "Another editor" in session.get(Note, note.id).body


def test_publishing_sets_the_time_once(session: Session) -> None:
    note, _ = save_note(session, NoteInput(title="N", body=BODY))
    assert note.published_at is None
    save_note(session, NoteInput(title="N", body=BODY, status="published"), note=note)
    first = note.published_at
    assert first is not None
    save_note(session, NoteInput(title="N", body=BODY + "x\n", status="published"), note=note)
    assert note.published_at == first


def test_update_ids_are_kept_per_anchor(session: Session) -> None:
    note, _ = save_note(session, NoteInput(title="N", body=BODY))
    ids = {u.anchor: u.id for u in note.updates}
    save_note(session, NoteInput(title="N", body=BODY.replace("Paralegals", "Courts")), note=note)
    assert {u.anchor: u.id for u in note.updates} == ids
    save_note(session, NoteInput(title="N", body="## Asia (@rina)\n- Only Asia.\n"), note=note)
    assert [u.anchor for u in note.updates] == ["asia"]
    assert count(session, Update) == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (NoteInput(title="", body=BODY), "title"),
        (NoteInput(title="x" * 201, body=BODY), "title"),
        (NoteInput(title="N", body=BODY, status="archived"), "status"),
        (NoteInput(title="N", body=BODY, language="klingon"), "language"),
        (NoteInput(title="N", body=BODY, call_id=999_999), "call_id"),
        (NoteInput(title="N", body=BODY, recording_url="javascript:alert(1)"), "recording_url"),
        (NoteInput(title="N", body="x" * 200_001), "body"),
        (NoteInput(title="N", body=BODY, tag_overrides={"asia": "all"}), "tag_overrides"),
        (NoteInput(title="N", body=BODY + "\x00"), "body"),
        (NoteInput(title="N\x00", body=BODY), "body"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    session: Session, data: NoteInput, field: str
) -> None:
    with pytest.raises((NoteError, ValueError)) as error:
        save_note(session, data)
    assert getattr(error.value, "field", field) == field
    session.rollback()
    assert count(session, Note) == 0
