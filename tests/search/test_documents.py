"""The index follows every change that commits: edits, unpublishing, deletion, tag corrections,
a call moved to another day, a speaker's new display name."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.calls import services as calls
from app.notes.models import Note, Update
from app.notes.services import NoteInput, delete_note, save_note, set_update_tags
from app.taxonomy.services import find_person, update_person

from .conftest import Publish, api, noon, titles

PANGOLIN = "## Kenya (@amina)\n- Pangolin rescue in Tsavo.\n"


def test_an_edit_replaces_the_old_words(
    client: FlaskClient, session: Session, publish: Publish
) -> None:
    note = publish("Wildlife", PANGOLIN)
    assert titles(client, q="pangolin") == {"Kenya (@amina)"}
    body = "## Kenya (@amina)\n- Aardvark survey in Tsavo.\n\n## Asia\n- Pangolin trade.\n"
    save_note(session, NoteInput(title="Wildlife", body=body, status="published"), note=note)
    session.commit()
    assert titles(client, q="pangolin") == {"Asia"}
    assert titles(client, q="rescue") == set()
    assert titles(client, q="aardvark") == {"Kenya (@amina)"}
    assert api(client, q="Tsavo")["total"] == 1
    renamed = body.replace("## Asia", "## Asia and Pacific")
    save_note(session, NoteInput(title="Wildlife", body=renamed, status="published"), note=note)
    session.commit()
    assert titles(client, q="pangolin") == {"Asia and Pacific"}


def test_an_edit_that_is_rolled_back_changes_nothing(
    client: FlaskClient, session: Session, publish: Publish
) -> None:
    note = publish("Wildlife", PANGOLIN)
    save_note(session, NoteInput(title="Wildlife", body="## Kenya\n- Okapi.\n"), note=note)
    session.rollback()
    assert titles(client, q="pangolin") == {"Kenya (@amina)"}
    assert titles(client, q="okapi") == set()


def test_unpublishing_removes_and_republishing_restores(
    client: FlaskClient, session: Session, publish: Publish
) -> None:
    note = publish("Wildlife", PANGOLIN)
    save_note(session, NoteInput(title="Wildlife", body=PANGOLIN, status="draft"), note=note)
    session.commit()
    assert api(client, q="pangolin")["total"] == 0
    assert api(client, q="region:kenya")["total"] == 0
    save_note(session, NoteInput(title="Wildlife", body=PANGOLIN, status="published"), note=note)
    session.commit()
    assert titles(client, q="pangolin") == {"Kenya (@amina)"}


def test_deleting_a_note_removes_its_updates(
    client: FlaskClient, session: Session, publish: Publish
) -> None:
    note = publish("Wildlife", PANGOLIN)
    publish("Other", "## Asia\n- Pangolin trade.\n")
    delete_note(session, note)
    session.commit()
    assert titles(client, q="pangolin") == {"Asia"}
    assert api(client, q="region:africa")["total"] == 0
    assert api(client)["total"] == 1


def test_a_tag_correction_moves_the_region_filter(
    client: FlaskClient, session: Session, publish: Publish
) -> None:
    note = publish("Wildlife", PANGOLIN)
    assert titles(client, q="pangolin region:africa") == {"Kenya (@amina)"}
    assert titles(client, q="pangolin region:asia") == set()
    set_update_tags(session, note, "kenya", regions=["indonesia"], speakers=["@rina"])
    session.commit()
    assert titles(client, q="pangolin region:asia") == {"Kenya (@amina)"}
    assert titles(client, q="pangolin region:south-eastern-asia") == {"Kenya (@amina)"}
    assert titles(client, q="pangolin region:africa") == set()
    assert titles(client, q="pangolin @rina") == {"Kenya (@amina)"}
    assert titles(client, q="pangolin @amina") == set()
    [result] = api(client, q="pangolin")["results"]
    assert [region["slug"] for region in result["regions"]] == ["indonesia"]


def test_a_rescheduled_call_moves_its_notes_date(
    client: FlaskClient, session: Session, publish: Publish
) -> None:
    call = calls.add_extra_call(
        session, title="Steering", start="2025-03-10T10:00", timezone="UTC", now=noon("2025-03-01")
    )
    publish("Steering notes", PANGOLIN, "2025-03-20", call_id=call.id)
    march_10 = {"q": "pangolin", "from": "2025-03-10", "to": "2025-03-10"}
    april_14 = {"q": "pangolin", "from": "2025-04-14", "to": "2025-04-14"}
    assert api(client, **march_10)["total"] == 1
    assert api(client, **april_14)["total"] == 0
    calls.reschedule_call(session, call, "2025-04-14T10:00", now=noon("2025-03-01"))
    session.commit()
    assert api(client, **march_10)["total"] == 0
    [result] = api(client, **april_14)["results"]
    assert result["date"] == "2025-04-14"
    # Late in the evening in Honolulu is the next day in UTC: the call's own zone decides.
    calls.reschedule_call(
        session, call, "2025-05-01T20:00", timezone="Pacific/Honolulu", now=noon("2025-03-01")
    )
    session.commit()
    assert api(client, q="pangolin", to="2025-05-01")["total"] == 1
    assert api(client, q="pangolin", **{"from": "2025-05-02"})["total"] == 0


def test_a_speakers_new_name_is_found(
    client: FlaskClient, session: Session, publish: Publish
) -> None:
    publish("Wildlife", PANGOLIN)
    assert api(client, q="Wanjiru")["total"] == 0
    update_person(session, find_person(session, "amina"), "Amina Wanjiru", "Kituo Cha Sheria")
    session.commit()
    [result] = api(client, q="Wanjiru")["results"]
    assert result["speakers"] == [{"handle": "amina", "name": "Amina Wanjiru"}]
    update_person(session, find_person(session, "amina"), "Amina Otieno", "")
    session.commit()
    assert api(client, q="Wanjiru")["total"] == 0
    assert api(client, q="Otieno")["total"] == 1


def test_the_index_tables_hold_the_published_updates_after_each_change(
    session: Session, backend: str, publish: Publish
) -> None:
    """Each backend keeps two tables in step: `search_documents`, and SQLite's full-text table
    or PostgreSQL's `search_vectors` (the tsvectors the page is ranked from)."""
    other = "search_fts" if backend == "sqlite" else "search_vectors"
    key = "rowid" if backend == "sqlite" else "update_id"

    def indexed() -> tuple[set[int], set[int], set[int]]:
        published = session.scalars(
            sa.select(Update.id).join(Note).where(Note.status == "published")
        )
        documents = session.scalars(sa.text("SELECT update_id FROM search_documents"))
        beside = session.scalars(sa.text(f"SELECT {key} FROM {other}"))
        return set(published), set(documents), set(beside)

    note = publish("Wildlife", PANGOLIN)
    publish("Other", "## Asia\n- Pangolin trade.\n\n## Africa\n- Okapi.\n")
    edited = PANGOLIN + "\n## Uganda\n- Gorillas.\n"
    for change in (
        lambda: save_note(
            session, NoteInput(title="W", body=edited, status="published"), note=note
        ),
        lambda: save_note(session, NoteInput(title="W", body=edited, status="draft"), note=note),
        lambda: save_note(
            session, NoteInput(title="W", body=PANGOLIN, status="published"), note=note
        ),
        lambda: delete_note(session, note),
    ):
        change()
        session.commit()
        published, documents, beside = indexed()
        assert published == documents == beside
        assert len(published) >= 2
