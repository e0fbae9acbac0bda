"""Digests through a real SMTP server: who gets one (their regions with sub-regions, global
updates for everyone, never empty, never a draft), queued on publish and by the sweep, rendered
once per set of regions, and the editors' preview."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.calls.models import Call
from app.db import utcnow
from app.mail import digests, outbox, services
from app.mail.models import Delivery, Subscriber
from app.mail.transport import SMTPTransport
from app.notes.models import Note
from app.notes.services import NoteInput, delete_note, save_note
from app.taxonomy.models import Person, Region

from ..conftest import AuthActions
from .conftest import SENDING, Sink

SNAPSHOTS = Path(__file__).parent / "snapshots"

BODY = """\
Welcome, everyone.

## Global updates (@ana)
- The UN statement is out.

## Kenya (@amina)
- Forty paralegals trained in Kisumu.

## Nigeria
- Court visits in Kano.

## East Africa
- Regional meeting in Kampala.

## Indonesia (@rina)
- Workshop in Bandung.
"""
NO_GLOBAL = BODY.replace("## Global updates (@ana)\n- The UN statement is out.\n\n", "")


def publish(
    session: Session,
    body: str = BODY,
    *,
    title: str = "October call",
    status: str = "published",
    call_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Note:
    """A note of a call (yesterday by default), saved and committed: publishing queues its
    digests once the commit succeeded."""
    now = now or utcnow()
    start = call_at or now - dt.timedelta(days=1)
    call = Call(
        start_at=start,
        end_at=start + dt.timedelta(hours=1),
        timezone="America/New_York",
        title="Coalition call",
    )
    session.add(call)
    session.flush()
    data = NoteInput(title=title, body=body, status=status, call_id=call.id)
    note, _ = save_note(session, data, now=now)
    session.commit()
    return note


def queued(session: Session, note: Note | None = None) -> set[str]:
    """The addresses with a digest queued (of `note`)."""
    query = sa.select(Subscriber.email).join(Delivery.subscriber).where(Delivery.kind == "digest")
    if note is not None:
        query = query.where(Delivery.subject == f"note:{note.id}")
    return set(session.scalars(query))


def send(session: Session, smtp: tuple[Sink, SMTPTransport]) -> outbox.Report:
    return outbox.send_due(session, smtp[1], SENDING, "sender-1")


def parts(sink: Sink, address: str) -> tuple[str, str, Any]:
    (received,) = sink.to(address)
    message = received.message
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    return text, html, received


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[tuple[frozenset[str], str]]:
    """Each costly render, as (region names of its groups, language)."""
    done: list[tuple[frozenset[str], str]] = []
    original = digests._render_digest

    def counting(digest: digests.Digest, language: str, *args: Any) -> digests.Rendered:
        done.append((frozenset(g.region.name for g in digest.groups if g.region), language))
        return original(digest, language, *args)

    monkeypatch.setattr(digests, "_render_digest", counting)
    return done


# --- who gets a digest -----------------------------------------------------------------------


def test_regions_match_with_their_sub_regions_and_global_goes_to_everyone(
    session: Session, make_subscriber: Callable[..., Subscriber]
) -> None:
    make_subscriber("africa@example.org", "africa")
    make_subscriber("kenya@example.org", "kenya")
    make_subscriber("europe@example.org", "europe")
    make_subscriber("all@example.org")
    make_subscriber("global@example.org", "global")
    session.commit()
    with_global = publish(session)
    assert queued(session, with_global) == {
        "africa@example.org",
        "kenya@example.org",
        "europe@example.org",  # for the global update alone
        "all@example.org",
        "global@example.org",
    }
    without_global = publish(session, NO_GLOBAL, title="November call")
    assert queued(session, without_global) == {
        "africa@example.org",
        "kenya@example.org",
        "all@example.org",
        "global@example.org",
    }


def test_never_an_empty_digest_nor_one_nobody_asked_for(
    session: Session, make_subscriber: Callable[..., Subscriber]
) -> None:
    make_subscriber("europe@example.org", "europe")
    make_subscriber("no-digests@example.org", "kenya", wants_digests=False)
    make_subscriber("pending@example.org", "kenya", status="pending")
    make_subscriber("gone@example.org", "kenya", status="unsubscribed")
    make_subscriber("late@example.org", "kenya", confirmed_at=utcnow() + dt.timedelta(hours=1))
    session.commit()
    note = publish(session, NO_GLOBAL)
    assert queued(session, note) == set()
    assert digests.enqueue_note_digests(session, note, utcnow()) == 0
    empty = publish(session, "", title="Nothing said")
    make_subscriber("all@example.org")
    assert digests.enqueue_note_digests(session, empty, utcnow()) == 0


def test_drafts_are_never_queued_and_publishing_queues_after_the_commit(
    session: Session, make_subscriber: Callable[..., Subscriber]
) -> None:
    make_subscriber("kenya@example.org", "kenya")
    session.commit()
    draft = publish(session, status="draft")
    now = utcnow()
    assert digests.enqueue_note_digests(session, draft, now) == 0
    assert digests.enqueue_recent_digests(session, now) == 0
    assert queued(session) == set()
    # Published but rolled back: nothing queued.
    save_note(session, NoteInput(title=draft.title, body=BODY, status="published"), note=draft)
    session.flush()
    assert queued(session) == set()
    session.rollback()
    assert queued(session) == set()
    # Published and committed: queued at once, without waiting for the sweep.
    draft = session.get(Note, draft.id)
    save_note(session, NoteInput(title=draft.title, body=BODY, status="published"), note=draft)
    session.commit()
    assert queued(session, draft) == {"kenya@example.org"}


def test_the_sweep_is_idempotent_and_skips_old_notes(
    session: Session, make_subscriber: Callable[..., Subscriber]
) -> None:
    now = utcnow()
    recent = publish(session, now=now - dt.timedelta(days=2))
    old = publish(session, title="June call", now=now - dt.timedelta(days=30))
    # An archive imported today as published: its call is long past, it is no news.
    archive = publish(session, title="2019 call", call_at=now - dt.timedelta(days=400))
    make_subscriber("kenya@example.org", "kenya")
    session.commit()
    assert queued(session) == set()  # nobody had subscribed yet when they were published
    assert digests.enqueue_recent_digests(session, now) == 1
    assert queued(session, recent) == {"kenya@example.org"}
    assert queued(session, old) == set()
    assert queued(session, archive) == set()
    assert digests.enqueue_recent_digests(session, now) == 0


# --- what they get ---------------------------------------------------------------------------


def test_a_digest_arrives_grouped_by_region_with_links_and_headers(
    session: Session,
    smtp: tuple[Sink, SMTPTransport],
    make_subscriber: Callable[..., Subscriber],
) -> None:
    sink = smtp[0]
    africa = make_subscriber("africa@example.org", "africa")
    session.commit()
    note = publish(session)
    assert send(session, smtp).sent == 1
    text, html, received = parts(sink, "africa@example.org")
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"].startswith("October call (") and "updates" in message["Subject"]
    for header in ("Message-ID", "Date", "List-Id"):
        assert message[header], header
    # One-click unsubscribe, unencoded, and the same link visible in both parts.
    raw = received.data.decode()
    (unsubscribe_url,) = re.findall(r"List-Unsubscribe: <([^>]+)>\r\n", raw)
    assert unsubscribe_url.startswith("https://calls.example.org/u/")
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert "=?utf-8?" not in raw
    token = unsubscribe_url.rsplit("/", 1)[1]
    assert services.subscriber_for_unsubscribe(session, token).id == africa.id
    (manage_url,) = re.findall(r"https://calls\.example\.org/email/manage/\S+", text)
    assert services.subscriber_for_manage(session, manage_url.rsplit("/", 1)[1]).id == africa.id
    for part in (text, html):
        assert unsubscribe_url in part and manage_url in part
        assert "manage-" not in part.replace(manage_url, "")  # no placeholder left
    # Global first, then Africa: its own updates, then each sub-region's.
    headings = re.findall(r"^(==|--) (.+) \1$", text, re.M)
    assert [h for _, h in headings] == [
        "Global",
        "Africa",
        "Kenya",  # sub-regions in the note's order
        "Nigeria",
        "East and Horn of Africa",
    ]
    assert "Indonesia" not in text and "Welcome" not in text
    base = f"https://calls.example.org/notes/{note.slug}"
    for anchor in ("global-updates", "kenya", "nigeria", "east-africa"):
        assert f"{base}#{anchor}" in text
        assert f'href="{base}#{anchor}"' in html
    assert "Speakers: @amina" in text and "Speakers: @ana" in text
    assert "Forty paralegals trained in Kisumu." in html


def test_html_has_its_css_inlined(
    session: Session,
    smtp: tuple[Sink, SMTPTransport],
    make_subscriber: Callable[..., Subscriber],
) -> None:
    make_subscriber("kenya@example.org", "kenya")
    session.commit()
    publish(session)
    send(session, smtp)
    html = parts(smtp[0], "kenya@example.org")[1]
    assert re.search(r'<h2 style="[^"]*border-bottom: 2px solid #d9e2ec', html)
    assert re.search(r'<div class="wrap" style="[^"]*max-width: 640px', html)
    # What stays in <style> is only what cannot be inlined: the small-screen rules.
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert style.strip().startswith("@media") and ".update" not in style


def test_rendered_once_per_set_of_regions_and_language(
    session: Session,
    smtp: tuple[Sink, SMTPTransport],
    make_subscriber: Callable[..., Subscriber],
    renders: list[tuple[frozenset[str], str]],
) -> None:
    for n in range(3):
        make_subscriber(f"africa{n}@example.org", "africa")
    make_subscriber("africa-and-kenya@example.org", "africa", "kenya")  # Kenya is in Africa
    make_subscriber("all1@example.org")
    make_subscriber("all2@example.org")
    make_subscriber("asia@example.org", "asia")
    make_subscriber("africa-es@example.org", "africa", language="es")
    make_subscriber("europe@example.org", "europe")
    session.commit()
    publish(session, NO_GLOBAL)
    report = send(session, smtp)
    assert report.sent == 8  # everyone but Europe
    assert sorted(renders, key=repr) == sorted(
        [
            (frozenset({"Africa"}), "en"),
            (frozenset({"Africa"}), "es"),
            (frozenset({"Africa", "Asia"}), "en"),  # everything: the groups holding updates
            (frozenset({"Asia"}), "en"),
        ],
        key=repr,
    )
    # Same digest, each with links of their own.
    first, second = (parts(smtp[0], f"africa{n}@example.org")[0] for n in (0, 1))
    assert first != second
    assert re.sub(r"/(u|manage)/\S+", "", first) == re.sub(r"/(u|manage)/\S+", "", second)


def test_notes_unpublished_or_deleted_after_queueing_are_not_sent(
    session: Session,
    smtp: tuple[Sink, SMTPTransport],
    make_subscriber: Callable[..., Subscriber],
) -> None:
    make_subscriber("kenya@example.org", "kenya")
    session.commit()
    unpublished, deleted = publish(session), publish(session, title="Other call")
    assert len(queued(session)) == 1 and session.scalar(sa.select(sa.func.count(Delivery.id))) == 2
    save_note(session, NoteInput(title=unpublished.title, body=BODY), note=unpublished)
    delete_note(session, deleted)
    session.commit()
    report = send(session, smtp)
    assert (report.sent, report.skipped) == (0, 2) and smtp[0].received == []


def test_note_text_cannot_break_the_mail(
    session: Session,
    smtp: tuple[Sink, SMTPTransport],
    make_subscriber: Callable[..., Subscriber],
) -> None:
    make_subscriber("kenya@example.org", "kenya")
    session.commit()
    body = "## Kenya\n- <script>alert(1)</script> manage-0000 & <b>bold</b>\n"
    publish(session, body, title='Q&A "call" <b>')
    send(session, smtp)
    text, html, received = parts(smtp[0], "kenya@example.org")
    assert received.message["Subject"].startswith('Q&A "call" <b>')
    assert "<script>" not in html and '>Q&amp;A "call" &lt;b&gt;</a></h1>' in html
    assert "manage-0000" in text  # a look-alike placeholder is left alone


def test_digest_text_snapshot(session: Session, regions: dict[str, Region]) -> None:
    note = publish(session, call_at=dt.datetime(2026, 10, 13, 14, tzinfo=dt.UTC))
    amina = session.scalar(sa.select(Person).where(Person.handle == "amina"))
    amina.display_name = "Amina Yusuf"
    links = digests.Links(
        "https://calls.example.org/email/manage/TOKEN", "https://calls.example.org/u/TOKEN"
    )
    rendered = digests.digest_for(session, note, [regions["africa"].id], "en", SENDING, links)
    assert rendered is not None
    assert_snapshot("digest_africa.txt", f"Subject: {rendered.subject}\n\n{rendered.text}")


def assert_snapshot(name: str, actual: str) -> None:
    """Compare with the saved file; UPDATE_SNAPSHOTS=1 saves `actual` instead."""
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert actual == path.read_text(encoding="utf-8")


# --- the editors' preview --------------------------------------------------------------------


@pytest.fixture
def editor(make_user: Callable[..., Any], auth: AuthActions) -> Iterator[None]:
    make_user("editor@example.org")
    auth.login("editor@example.org")
    yield


def test_the_preview_is_for_editors_only(client: FlaskClient, session: Session) -> None:
    note = publish(session, status="draft")
    response = client.get(f"/notes/{note.slug}/digest?region=africa")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_editors_preview_a_draft_for_any_regions(
    client: FlaskClient, session: Session, editor: None
) -> None:
    note = publish(session, NO_GLOBAL, status="draft")
    url = f"/notes/{note.slug}/digest"
    response = client.get(f"{url}?region=africa&region=asia")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<h2" in html and "Kenya" in html and "Indonesia" in html and 'style="' in html
    assert "style-src 'unsafe-inline'" in response.headers["Content-Security-Policy"]
    assert "script-src" not in response.headers["Content-Security-Policy"]
    text = client.get(f"{url}?region=kenya&format=text").get_data(as_text=True)
    assert text.startswith("Subject: October call") and "Nigeria" not in text
    everything = client.get(f"{url}?format=text").get_data(as_text=True)
    assert "Indonesia" in everything and "Other updates" in everything  # the welcome
    nothing = client.get(f"{url}?region=europe")
    assert nothing.status_code == 200
    assert "Nothing in this note is for these regions" in nothing.get_data(as_text=True)
    assert client.get(f"{url}?region=atlantis").status_code == 400
    assert client.get(f"{url}?lang=xx").status_code == 400
    assert client.get("/notes/no-such-note/digest").status_code == 404
