"""Note, region and speaker pages, the editor and the tag editor, through HTTP."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.calls import services as calls
from app.calls.models import Call
from app.db import db, utcnow
from app.notes import services
from app.notes.models import Note
from app.notes.services import NoteInput, delete_note, save_note, set_update_tags

from ..conftest import AuthActions, coalition_series, csrf_token

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


def test_headings_that_group_updates_are_shown_above_them(
    client: FlaskClient, session: Session
) -> None:
    body = (
        "## Global updates\n- The report launched.\n\n"
        "## Regional updates\n### West Africa (@kofi_m)\n- Accra summit.\n\n"
        "### Asia (@rina)\n- Bandung workshop.\n\n"
        "## Ways to get involved\n- Join the working group.\n\n"
        "Regional Campaign Updates:\n  • Latin America (@tomas)\n    • Agreement signed.\n"
    )
    note = publish(session, body=body)
    html = client.get(f"/notes/{note.slug}").get_data(as_text=True)
    headings = re.findall(r'<(h[23])[^>]*id="([a-z-]+)"', html)
    assert headings == [
        ("h2", "global-updates-title"),
        ("h2", "west-africa-group"),  # "Regional updates", above the updates it groups
        ("h3", "west-africa-title"),
        ("h3", "asia-title"),
        ("h2", "ways-to-get-involved-title"),  # a heading of its own level ends the group
        ("h2", "latin-america-group"),  # a pasted label groups the bullets after it
        ("h3", "latin-america-title"),
    ]
    assert '<h2 class="update-group" id="west-africa-group">Regional updates</h2>' in html
    assert ">Regional Campaign Updates</h2>" in html
    # The note's own HTML (the API's, the Atom feed's) has them too.
    assert '<h2 id="west-africa-group">Regional updates</h2>\n<h3 id="west-africa">' in (
        note.body_html
    )


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


def statements_run(app: Flask, request: Callable[[], Any]) -> list[str]:
    """The SQL statements that `request` had the database run."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return statements


def test_the_archive_costs_the_same_statements_for_5_notes_as_for_a_page_of_20(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    """Each note's call (and its series, which names it) and its updates' regions are loaded
    for all the page's notes at once, not note by note."""
    calls = coalition_series(session, "2026-01-01", "FREQ=WEEKLY;BYDAY=TU").calls

    def archive() -> None:
        response = client.get("/notes")
        assert response.status_code == 200

    def add_notes(numbers: range) -> None:
        for number in numbers:
            publish(session, title=f"Call {number}", call_id=calls[number].id)

    add_notes(range(5))
    few = statements_run(app, archive)
    add_notes(range(5, 25))
    many = statements_run(app, archive)
    html = client.get("/notes").get_data(as_text=True)
    assert html.count('<article class="note-summary">') == 20
    assert html.count("Coalition call") == 20 and html.count(">West Africa</span>") == 20
    # Five SELECTs (the notes, their updates, the updates' regions, the calls, their series),
    # between the SAVEPOINT and RELEASE that a test's request commits with.
    assert len(few) == len(many) == 7, many
    assert [statement.split()[0] for statement in many].count("SELECT") == 5


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


def call_menu(page: str) -> list[tuple[bool, str]]:
    """The editor's call menu: (selected, value) of each option."""
    menu = re.search(r'<select id="call_id" name="call_id">(.*?)</select>', page, re.S)
    assert menu, "no call menu"
    return [
        (bool(chosen), value)
        for chosen, value in re.findall(r'<option (selected )?value="([^"]*)"', menu.group(1))
    ]


def chosen_call(page: str) -> str:
    """The call a browser sends from the editor's menu: the selected option, else the first."""
    menu = call_menu(page)
    return next((value for chosen, value in menu if chosen), menu[0][1])


def test_the_editor_keeps_a_note_on_its_call_however_old(
    client: FlaskClient, session: Session, editor: AuthActions
) -> None:
    """The menu offers the latest calls; a note of an older one finds its own call there too,
    chosen, so that saving the note leaves it on its call."""
    first = (utcnow() - dt.timedelta(weeks=40)).date().isoformat()
    oldest = coalition_series(session, first, "FREQ=WEEKLY;BYDAY=TU").calls[0]
    note = publish(session, call_id=oldest.id)
    path = f"/notes/{note.slug}/edit"
    page = client.get(path).get_data(as_text=True)
    assert chosen_call(page) == str(oldest.id)
    assert [value for _, value in call_menu(page)].count(str(oldest.id)) == 1
    data = {
        "title": note.title,
        "call_id": chosen_call(page),
        "status": "published",
        "language": "en",
        "recording_url": "",
        "body": BODY + "- A late addition.\n",
        "base_revision": "1",
        "csrf_token": csrf_token(client, path),
    }
    assert client.post(path, data=data).status_code == 302
    session.expire_all()
    saved = session.get(Note, note.id)
    assert saved is not None and saved.revision == 2 and saved.call_id == oldest.id
    # Writing notes from an old call's page starts with that call chosen, too.
    new_page = client.get(f"/notes/new?call={oldest.id}").get_data(as_text=True)
    assert chosen_call(new_page) == str(oldest.id)


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of the note editor's form, as a browser would send them."""
    form = re.search(r'<form method="post" novalidate id="note-form".*?</form>', page, re.S)
    assert form, "no note form"
    fields = re.findall(r'<input id="[^"]*" name="([^"]+)" type="hidden" value="([^"]*)">', form[0])
    return dict(fields)


def test_after_a_conflict_only_an_explicit_overwrite_saves_over_the_other_edit(
    client: FlaskClient, session: Session, editor: AuthActions
) -> None:
    """Two editors open revision 1; the first saves. The second is refused and shown the
    difference; saving again as before is refused again, and only "Overwrite with my version"
    (which names the revision it overwrites) replaces the first editor's text."""
    note = publish(session, title="November call")
    path = f"/notes/{note.slug}/edit"
    opened = hidden_fields(client.get(path).get_data(as_text=True))
    assert opened["base_revision"] == "1"
    data = {
        "title": "November call",
        "call_id": "",
        "status": "published",
        "language": "en",
        "recording_url": "",
    }
    first = data | opened | {"body": BODY + "- First.\n"}
    assert client.post(path, data=first).status_code == 302

    mine = data | opened | {"body": BODY + "- Second.\n"}
    conflict = client.post(path, data=mine)
    assert conflict.status_code == 409
    page = conflict.get_data(as_text=True)
    assert "+- Second." in page and "-- First." in page
    assert 'name="overwrite" type="submit" value="Overwrite with my version"' in page
    shown = hidden_fields(page)
    assert shown["base_revision"] == "1" and shown["overwrite_revision"] == "2"

    again = client.post(path, data=mine | shown)  # plain Save, once more
    assert again.status_code == 409
    assert "+- Second." in again.get_data(as_text=True)
    session.expire_all()
    assert session.get(Note, note.id).body == BODY + "- First.\n"

    overwrite = mine | shown | {"overwrite": "Overwrite with my version"}
    assert client.post(path, data=overwrite).status_code == 302
    session.expire_all()
    saved = session.get(Note, note.id)
    assert saved.body == BODY + "- Second.\n" and saved.revision == 3

    # Overwriting revision 2 when a revision 3 has come meanwhile: refused, with the new diff.
    late = client.post(path, data=overwrite | {"body": BODY + "- Third.\n"})
    assert late.status_code == 409
    assert hidden_fields(late.get_data(as_text=True))["overwrite_revision"] == "3"
    # A form that names no revision it is based on saves over none.
    unbased = {k: v for k, v in mine.items() if k != "base_revision"}
    assert client.post(path, data=unbased).status_code == 409
    session.expire_all()
    assert session.get(Note, note.id).revision == 3


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
    assert 'chip-presenter" title="Giving this update">@kofi_m</span>' in html
    assert '<span class="chip chip-mention" title="Mentioned in the text">Ghana</span>' in html
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


def coalition_call(session: Session) -> Call:
    """The first call of a monthly series, "Coalition call"."""
    series = coalition_series(session, "2026-01-01")
    return series.calls[0]


def test_call_page_lists_its_notes(client: FlaskClient, session: Session) -> None:
    call = coalition_call(session)
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


# --- the page cache ----------------------------------------------------------------------------


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The slugs of the note pages built (not served from the page cache)."""
    built: list[str] = []
    original = services.find_note

    def find_note(session: Session, slug: str) -> Note | None:
        built.append(slug)
        return original(session, slug)

    monkeypatch.setattr(services, "find_note", find_note)
    return built


def test_note_page_is_answered_from_the_cache_without_a_query(
    client: FlaskClient, session: Session, builds: list[str]
) -> None:
    note = publish(session)
    first = client.get(f"/notes/{note.slug}")
    assert first.status_code == 200
    assert client.get(f"/notes/{note.slug}").get_data() == first.get_data()
    assert builds == [note.slug]  # the second visit was answered from memory
    for _ in range(2):  # a 404 is never cached
        assert client.get("/notes/no-such-note").status_code == 404
    assert builds == [note.slug, "no-such-note", "no-such-note"]


def test_an_edit_is_seen_by_the_next_anonymous_visit(
    client: FlaskClient, session: Session, builds: list[str]
) -> None:
    note = publish(session)
    assert "October call" in client.get(f"/notes/{note.slug}").get_data(as_text=True)
    data = NoteInput(title="October call, corrected", body=BODY, status="published")
    save_note(session, data, note=note)
    session.commit()
    assert "October call, corrected" in client.get(f"/notes/{note.slug}").get_data(as_text=True)
    assert len(builds) == 2


def test_a_tag_correction_is_seen_by_the_next_anonymous_visit(
    client: FlaskClient, session: Session
) -> None:
    note = publish(session)
    assert 'href="/people/budi"' not in client.get(f"/notes/{note.slug}").get_data(as_text=True)
    set_update_tags(session, note, "asia", regions=["asia"], speakers=["rina", "budi"])
    session.commit()
    assert 'href="/people/budi"' in client.get(f"/notes/{note.slug}").get_data(as_text=True)


def test_unpublishing_and_deleting_are_seen_by_the_next_anonymous_visit(
    client: FlaskClient, session: Session
) -> None:
    note = publish(session)
    path = f"/notes/{note.slug}"
    assert client.get(path).status_code == 200
    save_note(session, NoteInput(title=note.title, body=BODY, status="draft"), note=note)
    session.commit()
    assert client.get(path).status_code == 404
    save_note(session, NoteInput(title=note.title, body=BODY, status="published"), note=note)
    session.commit()
    assert client.get(path).status_code == 200
    delete_note(session, note)
    session.commit()
    assert client.get(path).status_code == 404


def test_a_change_of_its_call_is_seen_by_the_next_anonymous_visit(
    client: FlaskClient, session: Session
) -> None:
    call = coalition_call(session)
    note = publish(session, call_id=call.id)
    assert "Coalition call" in client.get(f"/notes/{note.slug}").get_data(as_text=True)
    calls.edit_call(session, call, title="Coalition call: courts special")
    session.commit()
    html = client.get(f"/notes/{note.slug}").get_data(as_text=True)
    assert "Coalition call: courts special" in html


def test_signed_in_editors_see_drafts_and_their_tools(
    client: FlaskClient, session: Session, editor: AuthActions
) -> None:
    """Never from the cache: drafts, and the editor's links, are for the team only."""
    note = publish(session)
    draft, _ = save_note(session, NoteInput(title="Secret draft", body=BODY))
    session.commit()
    assert "Correct tags" in client.get(f"/notes/{note.slug}").get_data(as_text=True)
    assert client.get(f"/notes/{draft.slug}").status_code == 200
    anonymous = client.application.test_client()
    assert "Correct tags" not in anonymous.get(f"/notes/{note.slug}").get_data(as_text=True)
    assert anonymous.get(f"/notes/{draft.slug}").status_code == 404


def test_a_save_that_changes_nothing_keeps_the_cached_page(
    client: FlaskClient, session: Session, builds: list[str]
) -> None:
    """As importing the same files again does: nothing changed, nothing to build again."""
    note = publish(session)
    page = client.get(f"/notes/{note.slug}").get_data()
    data = NoteInput(title=note.title, body=BODY, status="published")
    assert save_note(session, data, note=note) == (note, False)
    session.commit()
    assert client.get(f"/notes/{note.slug}").get_data() == page
    assert builds == [note.slug]


def test_the_tag_editor_tells_about_from_mentions_and_accepts_a_suggestion_in_one_click(
    client: FlaskClient, session: Session, editor: AuthActions
) -> None:
    body = (
        "Global Updates\n\nThe summit is in Nairobi this year.\n\n"
        "## Asia (@rina)\n- Paralegals in Nepal.\n"
    )
    note = publish(session, "Summit", body)
    page = client.get(f"/notes/{note.slug}").get_data(as_text=True)
    # What the Asia update is about, and the country its text mentions, apart.
    assert 'aria-label="About"' in page and 'aria-label="Places mentioned"' in page
    path = f"/notes/{note.slug}/tags"
    tags_page = client.get(path).get_data(as_text=True)
    assert 'name="accept" value="kenya"' in tags_page  # a venue of a global update: suggested
    token = csrf_token(client, path)
    accepted = client.post(
        path, data={"anchor": "global-updates", "accept": "kenya", "csrf_token": token}
    )
    assert accepted.status_code == 302
    api = client.get(f"/api/notes/{note.id}").get_json()
    global_update = next(u for u in api["updates"] if u["anchor"] == "global-updates")
    assert [m["slug"] for m in global_update["mentions"]] == ["kenya"]
    assert [r["slug"] for r in global_update["regions"]] == ["global"]
    # A mention corrected by hand, in its own field; a bad slug is refused with its reason.
    data = {"anchor": "asia", "regions": "asia", "mentions": "nepal, bhutan", "speakers": "@rina"}
    assert client.post(path, data=data | {"csrf_token": token}).status_code == 302
    asia = next(
        u
        for u in client.get(f"/api/notes/{note.id}").get_json()["updates"]
        if u["anchor"] == "asia"
    )
    assert {m["slug"] for m in asia["mentions"]} == {"nepal", "bhutan"}
    bad = client.post(path, data=data | {"mentions": "atlantis", "csrf_token": token})
    assert bad.status_code == 422 and "There is no region &#39;atlantis&#39;" in bad.get_data(
        as_text=True
    )


def test_notes_over_the_size_limit_get_413_and_keep_the_text(
    client: FlaskClient, editor: AuthActions
) -> None:
    token = csrf_token(client, "/notes/new")
    body = "- Kenya.\n" * 25_000  # 225,000 characters
    response = client.post(
        "/notes/new",
        data={"title": "Too long", "body": body, "status": "draft", "csrf_token": token},
    )
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "at most 200,000 characters" in html and "Too long" in html
    preview = client.post("/notes/preview", data={"body": body}, headers={"X-CSRFToken": token})
    assert preview.status_code == 413 and "at most 200,000 characters" in preview.get_data(
        as_text=True
    )
