"""A note's history page and restoring a revision, through HTTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.auth.models import User
from app.notes.models import Note, NoteRevision
from app.notes.services import NoteInput, save_note

from ..conftest import AuthActions, csrf_token

FIRST = "## Asia (@rina)\n- Workshop in Bandung.\n"
SECOND = "## Asia (@rina)\n- Workshop in Jakarta.\n- A second workshop.\n"


@pytest.fixture
def editor(auth: AuthActions, make_user: Any) -> User:
    user = make_user("editor@example.org", role="editor", name="Eda Editor")
    auth.login("editor@example.org")
    return user


@pytest.fixture
def note(session: Session, make_user: Any, editor: User) -> Note:
    """Revision 1 by Amina, revision 2 (a new text and title) by Eda, the editor signed in."""
    amina = make_user("amina@example.org", role="editor", name="Amina Author")
    note, _ = save_note(session, NoteInput(title="March call", body=FIRST), author=amina)
    data = NoteInput(title="March call, corrected", body=SECOND, status="published")
    save_note(session, data, note=note, author=editor)
    session.commit()
    return note


def restore(client: FlaskClient, note: Note, number: int | str, base: int | str) -> Any:
    history = f"/notes/{note.slug}/history"
    data = {"base_revision": str(base), "csrf_token": csrf_token(client, history)}
    return client.post(f"{history}/{number}/restore", data=data)


def revision_headings(html: str) -> list[str]:
    return re.findall(r'<article class="revision" id="revision-(\d+)"', html)


def test_the_history_lists_each_revision_with_its_author_time_and_diff(
    client: FlaskClient, note: Note
) -> None:
    response = client.get(f"/notes/{note.slug}/history")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert revision_headings(html) == ["2", "1"]  # newest first
    second, first = html.split('id="revision-1"')
    assert "Eda Editor" in second and "Amina Author" in first
    assert "<time datetime=" in second and "<time datetime=" in first
    assert "-- Workshop in Bandung." in second
    assert "+- Workshop in Jakarta." in second and "+- A second workshop." in second
    assert "Title" in second and "Status" in second  # the other fields revision 2 changed
    assert "The first revision." in first
    # The current revision has nothing to restore; the older one has.
    assert f"/notes/{note.slug}/history/1/restore" in html
    assert f"/notes/{note.slug}/history/2/restore" not in html


def test_the_history_escapes_what_the_text_holds(
    client: FlaskClient, session: Session, note: Note, editor: User
) -> None:
    data = NoteInput(title=note.title, body=SECOND + "<script>alert(1)</script>\n")
    save_note(session, data, note=note, author=editor)
    session.commit()
    html = client.get(f"/notes/{note.slug}/history").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "+&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_restoring_makes_a_new_revision_with_the_old_text(
    client: FlaskClient, session: Session, note: Note, editor: User
) -> None:
    response = restore(client, note, 1, base=2)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/notes/{note.slug}/history"
    session.expire_all()
    restored = session.get(Note, note.id)
    assert restored is not None and restored.revision == 3
    assert (restored.title, restored.body) == ("March call", FIRST)
    # Only the text is restored: the note stays published.
    assert restored.status == "published" and restored.published_at is not None
    assert "Workshop in Bandung" in restored.body_html
    assert [(r.number, r.author_id) for r in restored.revisions][-1] == (3, editor.id)
    assert [r.body for r in restored.revisions] == [FIRST, SECOND, FIRST]
    html = client.get(f"/notes/{note.slug}/history").get_data(as_text=True)
    assert revision_headings(html) == ["3", "2", "1"]
    assert "Revision 1 restored as revision 3." in html
    assert "Workshop in Bandung" in client.get(f"/notes/{note.slug}").get_data(as_text=True)


def test_restoring_is_refused_when_the_note_changed_meanwhile(
    client: FlaskClient, session: Session, note: Note, editor: User
) -> None:
    opened = csrf_token(client, f"/notes/{note.slug}/history")  # at revision 2
    data = NoteInput(title=note.title, body=SECOND + "- Third.\n", status="published")
    save_note(session, data, note=note, author=editor)
    session.commit()
    response = client.post(
        f"/notes/{note.slug}/history/1/restore", data={"base_revision": "2", "csrf_token": opened}
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "nothing was restored" in html
    assert revision_headings(html) == ["3", "2", "1"]  # the history as it now is
    session.expire_all()
    assert session.get(Note, note.id).revision == 3
    assert session.scalar(sa.select(sa.func.count(NoteRevision.id))) == 3


def test_restoring_the_current_text_changes_nothing(
    client: FlaskClient, session: Session, note: Note
) -> None:
    save_note(session, NoteInput(title="March call", body=FIRST, status="published"), note=note)
    session.commit()  # revision 3 is revision 1's text again
    response = restore(client, note, 1, base=3)
    assert response.status_code == 302
    assert "Nothing changed" in client.get(response.headers["Location"]).get_data(as_text=True)
    session.expire_all()
    assert session.get(Note, note.id).revision == 3


@pytest.mark.parametrize("number", ["0", "3", "99", str(2**40), "-1", "one"])
def test_bad_revision_numbers_are_404(client: FlaskClient, note: Note, number: str) -> None:
    assert restore(client, note, number, base=2).status_code == 404


def test_unknown_notes_and_bad_forms(client: FlaskClient, note: Note) -> None:
    assert client.get("/notes/no-such-note/history").status_code == 404
    token = csrf_token(client, f"/notes/{note.slug}/history")
    path = f"/notes/{note.slug}/history/1/restore"
    missing = client.post("/notes/no-such-note/history/1/restore", data={"csrf_token": token})
    assert missing.status_code == 404
    assert client.post(path, data={"base_revision": "2"}).status_code == 400  # no CSRF token
    assert client.post(path, data={"csrf_token": token}).status_code == 400  # no base
    assert client.post(path, data={"csrf_token": token, "base_revision": "x"}).status_code == 400


def test_history_is_for_editors_only(
    client: FlaskClient, auth: AuthActions, note: Note, session: Session
) -> None:
    auth.logout()
    response = client.get(f"/notes/{note.slug}/history")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/login?next=/notes/{note.slug}/history")
    token = csrf_token(client, "/login")
    path = f"/notes/{note.slug}/history/1/restore"
    refused = client.post(path, data={"base_revision": "2", "csrf_token": token})
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    session.expire_all()
    assert session.get(Note, note.id).revision == 2
    assert "/history" not in client.get(f"/notes/{note.slug}").get_data(as_text=True)


def test_the_note_page_and_the_editor_link_to_the_history(client: FlaskClient, note: Note) -> None:
    link = f'href="/notes/{note.slug}/history"'
    assert link in client.get(f"/notes/{note.slug}").get_data(as_text=True)
    assert link in client.get(f"/notes/{note.slug}/edit").get_data(as_text=True)
    assert "/history" not in client.get("/notes/new").get_data(as_text=True)
