"""The calls JSON API: GET /api/calls (filters, paging, bad input) and GET /api/calls/<id>."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.calls import api
from app.calls import services as calls
from app.calls.models import Call, Series
from app.taxonomy.services import ensure_region

NOW = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
UTC = dt.UTC


@dataclasses.dataclass
class Data:
    monthly: Series  # 2nd Tuesday 10:00 New York, west-africa, Dec 2026 to Nov 2027
    weekly: Series  # Thursday 15:00 Brussels, europe, 6 calls: 5 Nov to 10 Dec 2026
    private: Series  # not public
    extra: Call  # a one-off call without series, region africa, late evening in New York

    def call(self, series: Series, start: dt.datetime) -> Call:
        """The call of `series` in the slot `start` (UTC)."""
        return next(call for call in series.calls if call.original_start_at == start)


@pytest.fixture
def data(session: Session, monkeypatch: pytest.MonkeyPatch) -> Data:
    monkeypatch.setattr(api, "utcnow", lambda: NOW)
    africa = ensure_region(session, "africa", "Africa")
    ensure_region(session, "west-africa", "West Africa", parent=africa)
    ensure_region(session, "europe", "Europe")
    monthly = calls.create_series(
        session,
        calls.SeriesInput(
            title="West Africa organisers",
            timezone="America/New_York",
            start_time="10:00",
            rrule="FREQ=MONTHLY;BYDAY=2TU",
            first_date="2026-12-01",
            join_url="https://meet.example.org/wa",
            registration_url="https://example.org/register",
            region="west-africa",
        ),
        now=NOW,
    )
    weekly = calls.create_series(
        session,
        calls.SeriesInput(
            title="Europe weekly",
            timezone="Europe/Brussels",
            start_time="15:00",
            duration_minutes=30,
            rrule="FREQ=WEEKLY;BYDAY=TH;UNTIL=20261210",
            first_date="2026-11-01",
            region="europe",
        ),
        now=NOW,
    )
    private = calls.create_series(
        session,
        calls.SeriesInput(
            title="Steering",
            timezone="UTC",
            start_time="12:00",
            rrule="FREQ=WEEKLY;BYDAY=MO",
            first_date="2026-11-23",
            is_public=False,
        ),
        now=NOW,
        horizon_months=1,
    )
    extra = calls.add_extra_call(
        session,
        title="Special briefing",
        start="2026-12-15T18:00",
        timezone="America/New_York",
        region="africa",
        agenda="Funding news",
        now=NOW,
    )
    session.commit()
    return Data(monthly=monthly, weekly=weekly, private=private, extra=extra)


def _get(client: FlaskClient, **query: Any) -> dict[str, Any]:
    response = client.get("/api/calls", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _starts(body: dict[str, Any]) -> list[str]:
    return [call["start"] for call in body["calls"]]


MONTHLY_STARTS = [
    "2026-12-08T10:00:00-05:00",
    "2027-01-12T10:00:00-05:00",
    "2027-02-09T10:00:00-05:00",
    "2027-03-09T10:00:00-05:00",
    "2027-04-13T10:00:00-04:00",
    "2027-05-11T10:00:00-04:00",
    "2027-06-08T10:00:00-04:00",
    "2027-07-13T10:00:00-04:00",
    "2027-08-10T10:00:00-04:00",
    "2027-09-14T10:00:00-04:00",
    "2027-10-12T10:00:00-04:00",
    "2027-11-09T10:00:00-05:00",
]


# --- listing ---------------------------------------------------------------------------------


def test_list_defaults_to_upcoming_public_calls(client: FlaskClient, data: Data) -> None:
    body = _get(client)
    assert (body["limit"], body["offset"]) == (50, 0)
    assert _starts(body) == [
        "2026-11-26T15:00:00+01:00",
        "2026-12-03T15:00:00+01:00",
        "2026-12-08T10:00:00-05:00",
        "2026-12-10T15:00:00+01:00",
        "2026-12-15T18:00:00-05:00",
        *MONTHLY_STARTS[1:],
    ]
    assert body["count"] == len(body["calls"]) == 16
    # The weekly series' three November calls before now are left out, as is the private series.
    assert {call["series"] for call in body["calls"]} == {
        "west-africa-organisers",
        "europe-weekly",
        None,
    }


def test_a_call_in_progress_is_still_upcoming(
    client: FlaskClient, data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "utcnow", lambda: dt.datetime(2026, 11, 26, 14, 29, tzinfo=UTC))
    assert _get(client, limit=1)["calls"][0]["start_utc"] == "2026-11-26T14:00:00Z"
    monkeypatch.setattr(api, "utcnow", lambda: dt.datetime(2026, 11, 26, 14, 30, tzinfo=UTC))
    assert _get(client, limit=1)["calls"][0]["start_utc"] == "2026-12-03T14:00:00Z"


def test_call_object(client: FlaskClient, data: Data) -> None:
    call = data.call(data.monthly, dt.datetime(2026, 12, 8, 15, 0, tzinfo=UTC))
    listed = _get(client, series="west-africa-organisers", limit=1)["calls"][0]
    times = listed.pop("times")
    assert listed == {
        "id": call.id,
        "series": "west-africa-organisers",
        "series_title": "West Africa organisers",
        "title": "West Africa organisers",
        "status": "scheduled",
        "cancel_reason": "",
        "start": "2026-12-08T10:00:00-05:00",
        "end": "2026-12-08T11:00:00-05:00",
        "start_utc": "2026-12-08T15:00:00Z",
        "end_utc": "2026-12-08T16:00:00Z",
        "timezone": "America/New_York",
        "original_start": "2026-12-08T10:00:00-05:00",
        "is_rescheduled": False,
        "is_extra": False,
        "sequence": 0,
        "agenda": "",
        "links": {
            "join": "https://meet.example.org/wa",
            "registration": "https://example.org/register",
            "recording": "",
        },
        "region": "west-africa",
        "url": f"http://localhost/calls/{call.id}",
        "announcement": "Tuesday 8 December, 10:00 AM New York // 4:00 PM Brussels"
        " // 5:00 PM Cairo // 6:00 PM Addis Ababa // 10:00 PM Jakarta",
    }
    assert times[0] == {
        "label": "New York",
        "zone": "America/New_York",
        "local": "2026-12-08T10:00:00-05:00",
        "text": "Tuesday 10:00 AM",
        "day_shift": 0,
        "offset_hours": 0,
        "usual_offset_hours": 0,
    }
    assert [(t["label"], t["local"], t["text"], t["offset_hours"]) for t in times[1:]] == [
        ("Brussels", "2026-12-08T16:00:00+01:00", "Tuesday 4:00 PM", 6),
        ("Cairo", "2026-12-08T17:00:00+02:00", "Tuesday 5:00 PM", 7),
        ("Addis Ababa", "2026-12-08T18:00:00+03:00", "Tuesday 6:00 PM", 8),
        ("Jakarta", "2026-12-08T22:00:00+07:00", "Tuesday 10:00 PM", 12),
    ]
    # The single-call endpoint gives the same object.
    response = client.get(f"/api/calls/{call.id}")
    assert response.status_code == 200
    assert response.get_json() == {**listed, "times": times}


def test_offsets_follow_daylight_saving_time(client: FlaskClient, data: Data) -> None:
    january = data.call(data.monthly, dt.datetime(2027, 1, 12, 15, 0, tzinfo=UTC))
    july = data.call(data.monthly, dt.datetime(2027, 7, 13, 14, 0, tzinfo=UTC))
    for call, start, start_utc, brussels in [
        (january, "2027-01-12T10:00:00-05:00", "2027-01-12T15:00:00Z", "2027-01-12T16:00:00+01:00"),
        (july, "2027-07-13T10:00:00-04:00", "2027-07-13T14:00:00Z", "2027-07-13T16:00:00+02:00"),
    ]:
        body = client.get(f"/api/calls/{call.id}").get_json()
        assert (body["start"], body["start_utc"]) == (start, start_utc)
        city = next(time for time in body["times"] if time["label"] == "Brussels")
        assert (city["local"], city["text"], city["offset_hours"]) == (
            brussels,
            "Tuesday 4:00 PM",
            6,
        )
        assert "10:00 AM New York // 4:00 PM Brussels" in body["announcement"]


def test_times_mark_the_next_day(client: FlaskClient, data: Data) -> None:
    body = client.get(f"/api/calls/{data.extra.id}").get_json()
    jakarta = body["times"][-1]
    assert jakarta == {
        "label": "Jakarta",
        "zone": "Asia/Jakarta",
        "local": "2026-12-16T06:00:00+07:00",
        "text": "Wednesday 6:00 AM (+1 day)",
        "day_shift": 1,
        "offset_hours": 12,
        "usual_offset_hours": 12,
    }
    assert body["announcement"].endswith("6:00 AM Jakarta (Wednesday)")


def test_extra_call(client: FlaskClient, data: Data) -> None:
    body = client.get(f"/api/calls/{data.extra.id}").get_json()
    assert body["series"] is None and body["series_title"] is None
    assert body["title"] == "Special briefing"
    assert body["is_extra"] is True and body["original_start"] is None
    assert body["is_rescheduled"] is False
    assert (body["start"], body["end_utc"]) == ("2026-12-15T18:00:00-05:00", "2026-12-16T00:00:00Z")
    assert body["region"] == "africa" and body["agenda"] == "Funding news"
    assert body["links"] == {"join": "", "registration": "", "recording": ""}


def test_rescheduled_call_keeps_its_original_start(
    client: FlaskClient, session: Session, data: Data
) -> None:
    call = data.call(data.monthly, dt.datetime(2027, 2, 9, 15, 0, tzinfo=UTC))
    calls.reschedule_call(session, call, "2027-02-11T09:00", now=NOW)
    session.commit()
    body = client.get(f"/api/calls/{call.id}").get_json()
    assert body["start"] == "2027-02-11T09:00:00-05:00"
    assert body["end"] == "2027-02-11T10:00:00-05:00"
    assert body["start_utc"] == "2027-02-11T14:00:00Z"
    assert body["original_start"] == "2027-02-09T10:00:00-05:00"
    assert body["is_rescheduled"] is True and body["sequence"] == 1
    assert body["announcement"].startswith("Thursday 11 February, 9:00 AM New York")
    listed = _get(client, series="west-africa-organisers", **{"from": "2027-02-10"}, limit=1)
    assert listed["calls"][0]["id"] == call.id


def test_localized_by_accept_language(
    app: Flask, client: FlaskClient, data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LANGUAGES", ("en", "fr"))
    call = data.call(data.monthly, dt.datetime(2026, 12, 8, 15, 0, tzinfo=UTC))
    body = client.get(f"/api/calls/{call.id}", headers={"Accept-Language": "fr"}).get_json()
    assert body["announcement"].startswith("mardi 8 décembre, 10:00 New York // 16:00 Brussels")
    assert body["times"][1]["text"] == "mardi 16:00"


# --- filters and paging ----------------------------------------------------------------------


def test_filter_by_series(client: FlaskClient, data: Data) -> None:
    assert _starts(_get(client, series="west-africa-organisers")) == MONTHLY_STARTS
    body = _get(client, series="europe-weekly", **{"from": "2026-11-01"})
    assert _starts(body) == [f"2026-{day}T15:00:00+01:00" for day in (
        "11-05", "11-12", "11-19", "11-26", "12-03", "12-10",
    )]  # fmt: skip


def test_filter_by_region_includes_sub_regions(client: FlaskClient, data: Data) -> None:
    africa = _get(client, region="africa")
    assert [call["region"] for call in africa["calls"]] == ["west-africa", "africa"] + [
        "west-africa"
    ] * 11
    assert africa["calls"][1]["id"] == data.extra.id
    west = _get(client, region="west-africa")
    assert _starts(west) == MONTHLY_STARTS
    europe = _get(client, region=" Europe ")
    assert {call["series"] for call in europe["calls"]} == {"europe-weekly"}
    assert len(europe["calls"]) == 3


def test_filter_by_status(client: FlaskClient, session: Session, data: Data) -> None:
    call = data.call(data.monthly, dt.datetime(2027, 1, 12, 15, 0, tzinfo=UTC))
    calls.cancel_call(session, call, "Holiday", now=NOW)
    session.commit()
    cancelled = _get(client, status="cancelled")["calls"]
    assert [(c["id"], c["status"], c["cancel_reason"]) for c in cancelled] == [
        (call.id, "cancelled", "Holiday")
    ]
    scheduled = _get(client, status="scheduled")
    assert call.id not in {c["id"] for c in scheduled["calls"]}
    assert scheduled["count"] == 15
    assert _get(client)["count"] == 16  # by default cancelled calls are listed too


def test_filter_by_dates(client: FlaskClient, data: Data) -> None:
    january = _get(client, **{"from": "2027-01-01", "to": "2027-02-01"})
    assert _starts(january) == ["2027-01-12T10:00:00-05:00"]
    # Past calls with an explicit range; a date is 00:00 UTC, so 2026-11-19 ends the range
    # before the 19 November call.
    past = _get(client, **{"from": "2026-11-01", "to": "2026-11-19"})
    assert _starts(past) == ["2026-11-05T15:00:00+01:00", "2026-11-12T15:00:00+01:00"]


@pytest.mark.parametrize(
    ("value", "included"),
    [
        # The 8 December call runs 10:00-11:00 New York (15:00-16:00 UTC); `from` bounds its end.
        ("2026-12-08T10:59:00-05:00", True),
        ("2026-12-08T11:00:00-05:00", False),
        ("2026-12-08T16:59:00+01:00", True),
        ("2026-12-08T15:59:59Z", True),
        ("2026-12-08T16:00:00Z", False),
        ("2026-12-08T15:59", True),  # naive: UTC
        ("2026-12-08T16:00", False),
        ("2026-12-08 15:59", True),
    ],
)
def test_from_accepts_datetimes_with_offsets(
    client: FlaskClient, data: Data, value: str, included: bool
) -> None:
    body = _get(client, series="west-africa-organisers", limit=1, **{"from": value})
    first = "2026-12-08T10:00:00-05:00" if included else "2027-01-12T10:00:00-05:00"
    assert _starts(body) == [first]


def test_unencoded_plus_in_offset(client: FlaskClient, data: Data) -> None:
    # A "+" typed into a URL arrives as a space.
    response = client.get("/api/calls?series=europe-weekly&from=2026-11-26T15:30:00+01:00")
    assert _starts(response.get_json()) == [
        "2026-12-03T15:00:00+01:00",
        "2026-12-10T15:00:00+01:00",
    ]


def test_to_alone_keeps_now_as_start(client: FlaskClient, data: Data) -> None:
    body = _get(client, to="2026-12-05")
    assert _starts(body) == ["2026-11-26T15:00:00+01:00", "2026-12-03T15:00:00+01:00"]


def test_paging(client: FlaskClient, data: Data) -> None:
    everything = [call["id"] for call in _get(client)["calls"]]
    pages: list[int] = []
    for offset in range(0, 20, 5):
        page = _get(client, limit=5, offset=offset)
        assert (page["limit"], page["offset"]) == (5, offset)
        assert page["count"] == len(page["calls"]) == [5, 5, 5, 1][offset // 5]
        pages += [call["id"] for call in page["calls"]]
    assert pages == everything
    assert _get(client, limit=500, offset=16) == {
        "calls": [],
        "count": 0,
        "limit": 500,
        "offset": 16,
    }


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "parameter", "fragment"),
    [
        ({"series": "nope"}, "series", "no series 'nope'"),
        ({"series": "steering"}, "series", "no series 'steering'"),  # private: not revealed
        ({"series": "a\x00b"}, "series", "NUL character"),
        ({"region": "atlantis"}, "region", "no region 'atlantis'"),
        ({"from": "yesterday"}, "from", "'yesterday' is not a date"),
        ({"from": "2026-13-01"}, "from", "is not a date"),
        ({"from": "20261201"}, "from", "is not a date"),
        ({"from": "9999-12-31T23:00:00-05:00"}, "from", "is not a date"),
        ({"to": "2026-12-01T25:00"}, "to", "is not a date"),
        ({"to": "2026-11-01"}, "to", "before now"),
        ({"from": "2027-02-01", "to": "2027-01-01"}, "from", "is after to"),
        ({"status": "done"}, "status", "'done' is not one of scheduled, cancelled"),
        ({"status": "SCHEDULED"}, "status", "not one of"),
        ({"limit": "abc"}, "limit", "'abc' is not a whole number"),
        ({"limit": "1.5"}, "limit", "not a whole number"),
        ({"limit": "0"}, "limit", "from 1 to 500, not 0"),
        ({"limit": "501"}, "limit", "from 1 to 500, not 501"),
        ({"limit": "9" * 40}, "limit", "not a whole number"),
        ({"offset": "-1"}, "offset", "not -1"),
        ({"offset": "ten"}, "offset", "not a whole number"),
        ({"offset": "99999999999"}, "offset", "not 99999999999"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(
    client: FlaskClient, data: Data, query: dict[str, str], parameter: str, fragment: str
) -> None:
    response = client.get("/api/calls", query_string=query)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == 400 and error["title"] == "Bad request"
    assert error["message"].startswith(f"{parameter}: ")
    assert fragment in error["message"]


def test_empty_parameters_are_ignored(client: FlaskClient, data: Data) -> None:
    body = _get(client, series="", region="", status="", limit="", offset="", to="")
    assert (body["count"], body["limit"], body["offset"]) == (16, 50, 0)


def test_unknown_or_hidden_call_is_a_404(client: FlaskClient, session: Session, data: Data) -> None:
    hidden = data.call(data.monthly, dt.datetime(2027, 3, 9, 15, 0, tzinfo=UTC))
    hidden.is_public = False
    session.commit()
    private = data.private.calls[0]
    for call_id in (hidden.id, private.id, 987654, 2**31, 10**30):
        response = client.get(f"/api/calls/{call_id}")
        assert response.status_code == 404, call_id
        error = response.get_json()["error"]
        assert error["status"] == 404 and error["message"] == f"id: no call {call_id}."
    assert hidden.id not in {call["id"] for call in _get(client)["calls"]}
    assert private.id not in {
        call["id"] for call in _get(client, **{"from": "2026-01-01"})["calls"]
    }
    assert client.get("/api/calls/abc").status_code == 404
