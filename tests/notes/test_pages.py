"""Note, region and speaker pages, the editor and the tag editor, through HTTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.notes.models import Note
from app.notes.services import NoteInput, save_note

from ..conftest import AuthActions, csrf_token

BODY = """\
## Global updates
- The global report launched (@marta).

Regional Campaign Updates:
  • West Africa (@Kofi_M)
    • The paralegal summit in Accra drew 120 participants.
  • Asia (@rina)
    • Workshop in Bandung.
"""


def publish(session: Session, title: str = "October call", body: str = BODY, **kw: Any) -> Note:
    note, _ = save_note(session, NoteInput(title=title, body=body, status="published", **kw))
    session.commit()
    return note


@pytest.fixture
def editor(auth: AuthActions, make_user: Any) -> AuthActions:
    make_user("editor@example.org", role="editor", name="Eda Editor")
    auth.login("editor@example.org")
    return auth


def test_note_page_has_an_anchor_chips_and_speaker_links_per_update(
    client: FlaskClient, session: Session
) -> None:
    note = publish(session)
    html = client.get(f"/notes/{note.slug}").get_data(as_text=True)
    assert '<section class="update" id="west-africa"' in html
    assert 'href="/regions/west-africa">West Africa</a>' in html
    assert 'href="/people/kofi_m">@kofi_m</a>' in html
    assert 'href="/regions/global">Global</a>' in html
    assert "<li>The paralegal summit in Accra drew 120 participants.</li>" in html


def test_drafts_appear_nowhere_public(client: FlaskClient, session: Session) -> None:
    note, _ = save_note(session, NoteInput(title="Secret draft", body=BODY))
    session.commit()
    assert client.get(f"/notes/{note.slug}").status_code == 404
    for path in ("/notes", "/regions/africa", "/people/rina", "/regions/west-africa"):
        response = client.get(path)
        assert "Secret draft" not in response.get_data(as_text=True), path


def test_region_page_includes_sub_regions_newest_first(
    client: FlaskClient, session: Session
) -> None:
    publish(session, title="September call", body="## Kenya\n- Courts in Nairobi.\n")
    publish(session, title="October call")
    html = client.get("/regions/africa").get_data(as_text=True)
    assert "The paralegal summit" in html and "Courts in Nairobi" in html
    assert html.index("October call") < html.index("September call")
    assert "Workshop in Bandung" not in html
    assert client.get("/regions/atlantis").status_code == 404


def test_speaker_page_and_editing_their_name(
    client: FlaskClient, session: Session, editor: AuthActions
) -> None:
    publish(session)
    html = client.get("/people/RINA").get_data(as_text=True)
    assert "Workshop in Bandung" in html
    token = csrf_token(client, "/people/rina")
    data = {"display_name": "Rina S.", "organisation": "LBH Bandung", "csrf_token": token}
    assert client.post("/people/rina", data=data).status_code == 302
    assert "LBH Bandung" in client.get("/people/rina").get_data(as_text=True)
    assert client.get("/people/nobody").status_code == 404


def test_archive_lists_published_notes(client: FlaskClient, session: Session) -> None:
    publish(session)
    html = client.get("/notes").get_data(as_text=True)
    assert "October call" in html
    assert client.get("/notes?page=0").status_code == 404


def test_write_notes_through_the_editor(
    client: FlaskClient, session: Session, editor: AuthActions
) -> None:
    data = {
        "title": "November call",
        "call_id": "",
        "status": "published",
        "language": "en",
        "recording_url": "",
        "body": BODY,
        "base_revision": "0",
        "csrf_token": csrf_token(client, "/notes/new"),
    }
    response = client.post("/notes/new", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/notes/november-call"
    note = session.scalar(sa.select(Note))
    assert note.revision == 1 and len(note.updates) == 3

    path = "/notes/november-call/edit"
    page = client.get(path).get_data(as_text=True)
    assert 'name="base_revision" type="hidden" value="1"' in page
    stale = data | {"csrf_token": csrf_token(client, path), "base_revision": "1"}
    assert client.post(path, data=stale | {"body": BODY + "- First.\n"}).status_code == 302
    conflict = client.post(path, data=stale | {"body": BODY + "- Second.\n"})
    assert conflict.status_code == 409
    text = conflict.get_data(as_text=True)
    assert "+- Second." in text and "-- First." in text
    session.expire_all()
    assert "First." in session.get(Note, note.id).body


def test_editor_rejects_bad_input(client: FlaskClient, editor: AuthActions) -> None:
    data = {
        "title": "",
        "status": "published",
        "language": "en",
        "body": BODY,
        "csrf_token": csrf_token(client, "/notes/new"),
    }
    response = client.post("/notes/new", data=data)
    assert response.status_code == 422
    assert 'id="title-errors"' in response.get_data(as_text=True)
    bad_status = client.post("/notes/new", data=data | {"title": "T", "status": "archived"})
    assert bad_status.status_code == 422
    nul = client.post("/notes/new", data=data | {"title": "T", "body": "Asia\x00"})
    assert nul.status_code == 400
    assert "NUL character" in nul.get_data(as_text=True)
    assert client.get("/notes?q=a%00b").status_code == 400


def test_live_preview_uses_the_same_renderer_and_tagger(
    client: FlaskClient, editor: AuthActions
) -> None:
    token = csrf_token(client, "/notes/new")
    response = client.post(
        "/notes/preview",
        data={"body": BODY + "\n<script>alert(1)</script>\n"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<span class="chip chip-region">West Africa</span>' in html
    assert '<span class="chip chip-speaker">@kofi_m</span>' in html
    assert "<script>" not in html
    assert client.post("/notes/preview", data={"body": "x"}).status_code == 400  # no token


def test_tag_editor_corrections(client: FlaskClient, session: Session, editor: AuthActions) -> None:
    note = publish(session)
    path = f"/notes/{note.slug}/tags"
    token = csrf_token(client, path)
    data = {"anchor": "asia", "regions": "asia, indonesia", "speakers": "@rina, @budi"}
    assert client.post(path, data=data | {"csrf_token": token}).status_code == 302
    html = client.get(f"/notes/{note.slug}").get_data(as_text=True)
    assert 'href="/regions/indonesia"' in html and 'href="/people/budi"' in html
    bad = client.post(path, data=data | {"regions": "atlantis", "csrf_token": token})
    assert bad.status_code == 422 and "no region" in bad.get_data(as_text=True)


def test_call_page_lists_its_notes(client: FlaskClient, session: Session) -> None:
    from app.calls import services as calls

    series = calls.create_series(
        session,
        calls.SeriesInput(
            title="Coalition call",
            timezone="America/New_York",
            start_time="10:00",
            rrule="FREQ=MONTHLY;BYDAY=2TU",
            first_date="2026-01-01",
        ),
    )
    call = series.calls[0]
    publish(session, call_id=call.id)
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert re.search(r'<a href="/notes/october-call">October call</a>', html)


def test_admin_adds_regions_and_aliases(
    client: FlaskClient, session: Session, auth: AuthActions, make_user: Any
) -> None:
    make_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    token = csrf_token(client, "/admin/regions")
    data = {"new-name": "Sahel", "new-parent": "africa", "new-aliases": "Sahel region"}
    assert client.post("/admin/regions", data=data | {"new-csrf_token": token}).status_code == 302
    alias = {"alias-region": "sahel", "alias-alias": "Le Sahel", "alias-csrf_token": token}
    assert client.post("/admin/regions", data=alias).status_code == 302
    note = publish(session, body="## Le Sahel\n- Drought and courts.\n")
    assert [r.slug for r in note.updates[0].regions] == ["sahel"]
    dup = client.post("/admin/regions", data=data | {"new-csrf_token": token})
    assert dup.status_code == 422 and "exists already" in dup.get_data(as_text=True)


def test_people_named_only_in_drafts_are_not_public(client: FlaskClient, session: Session) -> None:
    save_note(session, NoteInput(title="Draft", body="## Asia (@secret_speaker)\n- Soon.\n"))
    session.commit()
    assert client.get("/people/secret_speaker").status_code == 404
