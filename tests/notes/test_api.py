"""The notes JSON API: GET /api/notes (filters, paging, drafts, bad input) and /api/notes/<id>."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.calls import services as calls
from app.calls.models import Call
from app.notes.models import Note
from app.notes.services import NoteInput, save_note
from app.taxonomy.services import find_person, update_person

from ..conftest import coalition_series

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 22, 8, 0, tzinfo=UTC)

OCTOBER = """\
## Global updates
- The global report launched.

## Regional updates
### West Africa (@kofi_m)
- The paralegal summit in Accra drew 120 people.

Regional Campaign Updates:
  • Asia (@Rina)
    • Workshop in Bandung, Indonesia.
"""
SEPTEMBER = "## Kenya (@amina)\n- Courts in Nairobi.\n"
NOVEMBER = "## Latin America (@rina)\n- Budget talks.\n"
DRAFT = "## Europe (@secret_sam)\n- Plans.\n\n## Asia (@rina)\n- Not yet public.\n"


@dataclasses.dataclass
class Data:
    september: Note  # Kenya (@amina), published 8 Sep 2026 15:30 UTC, the series' September call
    october: Note  # global, West Africa (@kofi_m), Asia (@rina): 13 Oct 16:00 UTC, October call
    november: Note  # Latin America (@rina), 2 Nov 12:00 UTC, a call that is not public
    draft: Note  # Europe (@secret_sam), Asia (@rina): never published
    september_call: Call
    october_call: Call
    private_call: Call


def publish(session: Session, title: str, body: str, when: dt.datetime, **kw: Any) -> Note:
    note, _ = save_note(
        session, NoteInput(title=title, body=body, status="published", **kw), now=when
    )
    return note


@pytest.fixture
def data(session: Session) -> Data:
    series = coalition_series(session, "2026-09-01", now=NOW, horizon_months=2)
    by_start = {call.start_at: call for call in series.calls}
    september_call = by_start[dt.datetime(2026, 9, 8, 14, 0, tzinfo=UTC)]
    october_call = by_start[dt.datetime(2026, 10, 13, 14, 0, tzinfo=UTC)]
    private_call = calls.add_extra_call(
        session, title="Steering", start="2026-11-02T11:00", timezone="UTC", now=NOW
    )
    private_call.is_public = False
    september = publish(
        session,
        "September call",
        SEPTEMBER,
        dt.datetime(2026, 9, 8, 15, 30, tzinfo=UTC),
        call_id=september_call.id,
    )
    october = publish(
        session,
        "October call",
        OCTOBER,
        dt.datetime(2026, 10, 13, 16, 0, tzinfo=UTC),
        call_id=october_call.id,
        recording_url="https://example.org/recordings/october",
    )
    november = publish(
        session,
        "Steering notes",
        NOVEMBER,
        dt.datetime(2026, 11, 2, 12, 0, tzinfo=UTC),
        call_id=private_call.id,
    )
    draft, _ = save_note(session, NoteInput(title="Secret draft", body=DRAFT), now=NOW)
    update_person(session, find_person(session, "kofi_m"), "Kofi Mensah", "Legal Aid Ghana")
    session.commit()
    return Data(september, october, november, draft, september_call, october_call, private_call)


def _get(client: FlaskClient, **query: Any) -> dict[str, Any]:
    response = client.get("/api/notes", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _titles(client: FlaskClient, **query: Any) -> list[str]:
    return [note["title"] for note in _get(client, **query)["notes"]]


ALL = ["Steering notes", "October call", "September call"]


# --- listing ---------------------------------------------------------------------------------


def test_published_notes_newest_first(client: FlaskClient, data: Data) -> None:
    body = _get(client)
    assert [note["title"] for note in body["notes"]] == ALL
    assert (body["total"], body["limit"], body["offset"]) == (3, 20, 0)
    assert {note["status"] for note in body["notes"]} == {"published"}


def test_note_summary(client: FlaskClient, data: Data) -> None:
    october = _get(client)["notes"][1]
    assert october == {
        "id": data.october.id,
        "slug": "october-call",
        "title": "October call",
        "status": "published",
        "language": "en",
        "published_at": "2026-10-13T16:00:00Z",
        "call": {
            "id": data.october_call.id,
            "start": "2026-10-13T10:00:00-04:00",
            "series": "coalition-call",
        },
        "recording_url": "https://example.org/recordings/october",
        "url": "http://localhost/notes/october-call",
        "regions": ["global", "west-africa", "asia"],
        "mentions": ["ghana", "indonesia"],  # Accra, Bandung
        "speakers": ["kofi_m", "rina"],
    }


def test_a_call_that_is_not_public_is_not_revealed(client: FlaskClient, data: Data) -> None:
    november = _get(client)["notes"][0]
    assert november["title"] == "Steering notes" and november["call"] is None
    assert client.get(f"/api/notes/{data.november.id}").get_json()["call"] is None


def test_one_note_with_its_updates(client: FlaskClient, data: Data) -> None:
    response = client.get(f"/api/notes/{data.october.id}")
    assert response.status_code == 200
    note = response.get_json()
    updates = note.pop("updates")
    html = note.pop("html")
    assert note == {
        **_get(client)["notes"][1],
        "body": OCTOBER,
        "revision": 1,
    }
    assert html == data.october.body_html and 'id="west-africa"' in html
    url = "http://localhost/notes/october-call"
    assert updates == [
        {
            "id": data.october.updates[0].id,
            "anchor": "global-updates",
            "position": 0,
            "title": "Global updates",
            "html": "<ul>\n<li>The global report launched.</li>\n</ul>",
            "text": "Global updates The global report launched.",
            "url": f"{url}#global-updates",
            "regions": [{"slug": "global", "name": "Global"}],
            "mentions": [],
            "speakers": [],
            "presenters": [],
            "suggested_regions": [],
        },
        {
            "id": data.october.updates[1].id,
            "anchor": "west-africa",
            "position": 1,
            "title": "West Africa (@kofi_m)",
            "html": "<ul>\n<li>The paralegal summit in Accra drew 120 people.</li>\n</ul>",
            "text": "West Africa (@kofi_m) The paralegal summit in Accra drew 120 people.",
            "url": f"{url}#west-africa",
            "regions": [{"slug": "west-africa", "name": "West Africa"}],
            "mentions": [{"slug": "ghana", "name": "Ghana"}],
            "speakers": [{"handle": "kofi_m", "name": "Kofi Mensah"}],
            "presenters": ["kofi_m"],
            "suggested_regions": [],
        },
        {
            "id": data.october.updates[2].id,
            "anchor": "asia",
            "position": 2,
            "title": "Asia (@Rina)",
            "html": "<ul>\n<li>Workshop in Bandung, Indonesia.</li>\n</ul>",
            "text": "Asia (@Rina) Workshop in Bandung, Indonesia.",
            "url": f"{url}#asia",
            "regions": [{"slug": "asia", "name": "Asia"}],
            "mentions": [{"slug": "indonesia", "name": "Indonesia"}],
            "speakers": [{"handle": "rina", "name": ""}],
            "presenters": ["rina"],
            "suggested_regions": [],
        },
    ]


# --- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "titles"),
    [
        ("africa", ["October call", "September call"]),  # West Africa and Kenya are below it
        ("sub-saharan-africa", ["October call", "September call"]),
        ("west-africa", ["October call"]),
        ("kenya", ["September call"]),
        ("east-and-horn-of-africa", ["September call"]),
        ("north-africa", []),
        ("global", ALL),  # everything is below the world
        ("americas", ["Steering notes"]),
        ("latin-america", ["Steering notes"]),
        ("Asia", ["October call"]),  # the draft's Asia update is not counted
        ("europe", []),  # only the draft speaks of Europe
    ],
)
def test_region_filter_includes_sub_regions(
    client: FlaskClient, data: Data, region: str, titles: list[str]
) -> None:
    body = _get(client, region=region)
    assert [note["title"] for note in body["notes"]] == titles
    assert body["total"] == len(titles)


@pytest.mark.parametrize(
    ("speaker", "titles"),
    [
        ("rina", ["Steering notes", "October call"]),
        ("@RINA", ["Steering notes", "October call"]),
        ("kofi_m", ["October call"]),
        ("amina", ["September call"]),
    ],
)
def test_speaker_filter(client: FlaskClient, data: Data, speaker: str, titles: list[str]) -> None:
    assert _titles(client, speaker=speaker) == titles


def test_call_filter(client: FlaskClient, data: Data) -> None:
    assert _titles(client, call=data.october_call.id) == ["October call"]
    assert _titles(client, call=data.september_call.id) == ["September call"]
    later = next(c for c in data.october_call.series.calls if c.start_at > NOW)
    assert _get(client, call=later.id) == {"notes": [], "total": 0, "limit": 20, "offset": 0}


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ({"from": "2026-10-13"}, ["Steering notes", "October call"]),
        ({"from": "2026-10-14"}, ["Steering notes"]),
        ({"to": "2026-10-13"}, ["October call", "September call"]),  # the whole day
        ({"to": "2026-10-12"}, ["September call"]),
        ({"from": "2026-10-13", "to": "2026-10-13"}, ["October call"]),
        ({"from": "2026-09-08T15:30:00Z", "to": "2026-10-13T16:00:00Z"}, ALL[1:]),  # inclusive
        ({"from": "2026-09-08T15:30:01Z"}, ALL[:2]),
        ({"to": "2026-10-13T15:59:59"}, ["September call"]),  # naive means UTC
        ({"from": "2026-10-13T18:00:00+02:00"}, ALL[:2]),  # 16:00 UTC
        ({"from": "2026-10-13T18:00:00 02:00"}, ALL[:2]),  # an unencoded "+"
        ({"from": "2026-10-13T18:00:01+02:00"}, ["Steering notes"]),
        ({"from": "2026-12-01"}, []),
        ({"to": "9999-12-31"}, ALL),
        ({"from": "0001-01-01", "to": "2026-09-08"}, ["September call"]),
    ],
)
def test_published_date_range(
    client: FlaskClient, data: Data, query: dict[str, str], titles: list[str]
) -> None:
    assert _titles(client, **query) == titles


def test_filters_combine(client: FlaskClient, data: Data) -> None:
    assert _titles(client, region="africa", speaker="kofi_m") == ["October call"]
    assert _titles(client, region="africa", speaker="rina") == ["October call"]
    assert _titles(client, region="latin-america", speaker="kofi_m") == []
    assert _titles(client, speaker="rina", **{"from": "2026-11-01"}) == ["Steering notes"]
    assert _titles(client, region="global", call=data.september_call.id) == ["September call"]


def test_paging(client: FlaskClient, data: Data) -> None:
    body = _get(client, limit=1, offset=1)
    assert [note["title"] for note in body["notes"]] == ["October call"]
    assert (body["total"], body["limit"], body["offset"]) == (3, 1, 1)
    pages = [_titles(client, limit=2, offset=offset) for offset in (0, 2, 4)]
    assert pages == [ALL[:2], ALL[2:], []]
    assert _get(client, region="africa", limit=1)["total"] == 2
    assert _get(client, limit=100, offset=1_000_000)["total"] == 3


def test_empty_parameters_are_ignored(client: FlaskClient, data: Data) -> None:
    query = dict.fromkeys(("region", "speaker", "call", "from", "to", "limit", "offset"), "")
    assert _titles(client, **query) == ALL


# --- drafts ----------------------------------------------------------------------------------


def test_drafts_appear_nowhere(client: FlaskClient, data: Data) -> None:
    body = client.get("/api/notes", query_string={"limit": 100}).get_data(as_text=True)
    assert "Secret draft" not in body and "secret_sam" not in body
    assert client.get(f"/api/notes/{data.draft.id}").status_code == 404
    assert _titles(client, region="europe") == []
    response = client.get("/api/notes", query_string={"speaker": "secret_sam"})
    assert response.status_code == 400  # as if unknown


def test_a_published_note_taken_back_to_draft_disappears(
    client: FlaskClient, session: Session, data: Data
) -> None:
    save_note(session, NoteInput(title="October call", body=OCTOBER), note=data.october)
    session.commit()
    assert _titles(client) == ["Steering notes", "September call"]
    assert client.get(f"/api/notes/{data.october.id}").status_code == 404
    response = client.get("/api/notes", query_string={"speaker": "kofi_m"})
    assert response.status_code == 400  # kofi_m now speaks in no published note


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "parameter", "fragment"),
    [
        ({"region": "atlantis"}, "region", "no region 'atlantis'"),
        ({"region": "a\x00b"}, "region", "NUL character"),
        ({"region": "x" * 201}, "region", "not a valid value"),
        ({"speaker": "nobody"}, "speaker", "no speaker 'nobody'"),
        ({"speaker": "secret_sam"}, "speaker", "no speaker 'secret_sam'"),
        ({"call": "987654"}, "call", "no call 987654"),
        ({"call": "abc"}, "call", "'abc' is not a whole number"),
        ({"call": "0"}, "call", "not 0"),
        ({"call": "-3"}, "call", "not -3"),
        ({"call": str(2**31)}, "call", f"not {2**31}"),
        ({"call": "9" * 40}, "call", "not a whole number"),
        ({"from": "yesterday"}, "from", "'yesterday' is not a date"),
        ({"from": "2026-13-01"}, "from", "is not a date"),
        ({"from": "20261201"}, "from", "is not a date"),
        ({"from": "0001-01-01T00:00:00+01:00"}, "from", "is not a date"),
        ({"to": "2026-10-32"}, "to", "is not a date"),
        ({"to": "2026-10-01T25:00"}, "to", "is not a date"),
        ({"from": "2026-10-14", "to": "2026-10-13"}, "from", "is after to"),
        ({"from": "2026-10-13T16:00:01Z", "to": "2026-10-13T16:00:00Z"}, "from", "is after to"),
        ({"limit": "0"}, "limit", "from 1 to 100, not 0"),
        ({"limit": "101"}, "limit", "from 1 to 100, not 101"),
        ({"limit": "ten"}, "limit", "not a whole number"),
        ({"limit": "1.5"}, "limit", "not a whole number"),
        ({"offset": "-1"}, "offset", "not -1"),
        ({"offset": "99999999999"}, "offset", "not 99999999999"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(
    client: FlaskClient, data: Data, query: dict[str, str], parameter: str, fragment: str
) -> None:
    response = client.get("/api/notes", query_string=query)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == 400 and error["title"] == "Bad request"
    assert error["message"].startswith(f"{parameter}: ")
    assert fragment in error["message"]


def test_a_call_that_is_not_public_is_an_unknown_filter(client: FlaskClient, data: Data) -> None:
    response = client.get("/api/notes", query_string={"call": data.private_call.id})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == f"call: no call {data.private_call.id}."


def test_unknown_notes_are_a_404(client: FlaskClient, data: Data) -> None:
    for note_id in (data.draft.id, 987654, 2**31, 10**30):
        response = client.get(f"/api/notes/{note_id}")
        assert response.status_code == 404, note_id
        error = response.get_json()["error"]
        assert error["status"] == 404 and error["message"] == f"id: no note {note_id}."
    for path in ("/api/notes/abc", "/api/notes/-1", "/api/notes/october-call"):
        assert client.get(path).status_code == 404, path
