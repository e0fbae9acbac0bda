"""Atom feeds of published notes over HTTP, read back with ElementTree and with feedparser."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import feedparser
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.feeds import atom
from app.notes.models import Note
from app.notes.services import NoteInput, save_note

NS = {"a": atom.ATOM_NS}
ATOM_TYPE = "application/atom+xml; charset=utf-8"

PUBLISHED = """\
## Asia (@Rina)
- Workshop in Bandung on legal aid.

## Latin America (@tomas)
- Regional agreement on access to justice.
"""

DRAFT = """\
## Asia (@secret_speaker)
- Draft-only plans for Jakarta.
"""


@dataclass
class Notes:
    published: Note
    draft: Note


@pytest.fixture
def notes(session: Session) -> Notes:
    published, _ = save_note(
        session,
        NoteInput(title="October call", body=PUBLISHED, status="published"),
        now=dt.datetime(2026, 10, 14, 15, 0, tzinfo=dt.UTC),
    )
    draft, _ = save_note(session, NoteInput(title="November draft", body=DRAFT))
    session.commit()
    return Notes(published, draft)


def get_feed(client: FlaskClient, path: str) -> ET.Element:
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.headers["Content-Type"] == ATOM_TYPE
    root = ET.fromstring(response.data)
    assert root.tag == f"{{{atom.ATOM_NS}}}feed"
    return root


def entries(root: ET.Element) -> list[ET.Element]:
    return root.findall("a:entry", NS)


def check_rfc4287(root: ET.Element) -> None:
    """The elements RFC 4287 requires of a feed and of each entry, once each."""
    for name in ("id", "title", "updated", "author"):
        assert len(root.findall(f"a:{name}", NS)) == 1, name
    assert root.find("a:link[@rel='self']", NS) is not None
    stamp = root.findtext("a:updated", namespaces=NS) or ""
    assert dt.datetime.fromisoformat(stamp).tzinfo is not None
    for entry in entries(root):
        for name in ("id", "title", "updated", "content"):
            assert len(entry.findall(f"a:{name}", NS)) == 1, name
        assert entry.find("a:link[@rel='alternate']", NS) is not None
        assert (entry.findtext("a:id", namespaces=NS) or "").startswith("tag:localhost,")


def test_all_notes(client: FlaskClient, notes: Notes) -> None:
    root = get_feed(client, "/notes.atom")
    check_rfc4287(root)
    (entry,) = entries(root)
    assert entry.findtext("a:title", namespaces=NS) == "October call"
    link = entry.find("a:link[@rel='alternate']", NS)
    assert link is not None and link.get("href") == f"http://localhost/notes/{notes.published.slug}"
    assert entry.findtext("a:id", namespaces=NS) == (
        f"tag:localhost,{notes.published.created_at.date().isoformat()}:notes/{notes.published.id}"
    )
    content = entry.findtext("a:content", namespaces=NS) or ""
    assert 'id="asia"' in content and "Bandung" in content
    assert b"Jakarta" not in client.get("/notes.atom").data  # drafts never appear


def test_region_feed_has_sub_regions_and_anchors(client: FlaskClient, notes: Notes) -> None:
    world = get_feed(client, "/regions/global.atom")  # the root: every tagged update
    check_rfc4287(world)
    anchors = [e.find("a:link", NS).get("href", "").rsplit("#")[-1] for e in entries(world)]  # type: ignore[union-attr]
    assert anchors == ["asia", "latin-america"]
    asia = entries(get_feed(client, "/regions/asia.atom"))
    assert len(asia) == 1
    link = asia[0].find("a:link[@rel='alternate']", NS)
    assert link is not None
    assert link.get("href") == f"http://localhost/notes/{notes.published.slug}#asia"
    # Its categories: the region it is about, and the country its text mentions.
    assert [c.get("term") for c in asia[0].findall("a:category", NS)] == ["asia", "indonesia"]
    assert entries(get_feed(client, "/regions/africa.atom")) == []
    assert b"Jakarta" not in client.get("/regions/asia.atom").data


def test_speaker_feed(client: FlaskClient, notes: Notes) -> None:
    root = get_feed(client, "/people/rina.atom")
    check_rfc4287(root)
    (entry,) = entries(root)
    assert "Bandung" in (entry.findtext("a:content", namespaces=NS) or "")
    # Named only in a draft: not public, like the speaker's page.
    assert client.get("/people/secret_speaker.atom").status_code == 404


@pytest.mark.parametrize("path", ["/regions/atlantis.atom", "/people/nobody.atom"])
def test_unknown_is_404(client: FlaskClient, notes: Notes, path: str) -> None:
    assert client.get(path).status_code == 404


def test_feedparser_reads_it(client: FlaskClient, notes: Notes) -> None:
    for path in ("/notes.atom", "/regions/asia.atom", "/people/rina.atom"):
        parsed = feedparser.parse(client.get(path).data)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert parsed.version == "atom10"
        assert parsed.feed.title.startswith("Convene: ")
        assert len(parsed.entries) == 1
        entry = parsed.entries[0]
        assert entry.id.startswith("tag:localhost,")
        assert entry.link.startswith(f"http://localhost/notes/{notes.published.slug}")
        assert entry.updated_parsed is not None
        assert "Jakarta" not in entry.summary


def test_same_bytes_304_and_new_etag(client: FlaskClient, session: Session, notes: Notes) -> None:
    first, second = client.get("/notes.atom"), client.get("/notes.atom")
    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    etag = first.headers["ETag"]
    assert client.get("/notes.atom", headers={"If-None-Match": etag}).status_code == 304
    save_note(
        session,
        NoteInput(title="October call, revised", body=PUBLISHED, status="published"),
        note=notes.published,
    )
    session.commit()
    changed = client.get("/notes.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert b"October call, revised" in changed.data


def test_publishing_a_draft_adds_it(client: FlaskClient, session: Session, notes: Notes) -> None:
    assert b"Jakarta" not in client.get("/regions/asia.atom").data
    save_note(
        session,
        NoteInput(title="November draft", body=DRAFT, status="published"),
        note=notes.draft,
    )
    session.commit()
    assert b"Jakarta" in client.get("/regions/asia.atom").data
    assert client.get("/people/secret_speaker.atom").status_code == 200


def test_serializer_escapes_and_is_deterministic() -> None:
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    feed = atom.AtomFeed(
        id="http://x/feed",
        title="A & B <c>",
        subtitle="",
        self_url="http://x/feed",
        page_url="http://x/",
        author="X",
        updated=moment,
        entries=(
            atom.Entry(
                id="tag:x,2026-01-02:notes/1",
                title="T",
                url="http://x/notes/t#a",
                updated=moment,
                published=None,
                html="<p>Hi &amp; bye</p>",
                language="fr",
            ),
        ),
    )
    body = atom.build(feed)
    assert body == atom.build(feed)
    root = ET.fromstring(body)
    assert root.findtext("a:title", namespaces=NS) == "A & B <c>"
    entry = root.find("a:entry", NS)
    assert entry is not None
    assert entry.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    assert entry.findtext("a:content", namespaces=NS) == "<p>Hi &amp; bye</p>"
    assert entry.findtext("a:updated", namespaces=NS) == "2026-01-02T03:04:05Z"
    assert entry.find("a:published", NS) is None
