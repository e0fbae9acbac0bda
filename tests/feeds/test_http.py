"""The feeds' HTTP behaviour and content, on each database backend (in-process test client)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy.orm import Session

from app.calls import services as calls
from app.db import db
from app.notes.models import Note

from .conftest import Scenario, build_scenario


@pytest.fixture
def scenario(session: Session) -> Scenario:
    built = build_scenario(session, dt.datetime.now(dt.UTC).replace(microsecond=0))
    session.commit()
    return built


def exdates_of(event: Any) -> list[dt.datetime]:
    props = event.get("EXDATE", [])
    props = props if isinstance(props, list) else [props]
    return [item.dt for prop in props for item in prop.dts]


def feed(client: FlaskClient, path: str, **headers: str) -> Any:
    response = client.get(path, headers=headers)
    assert response.status_code in (200, 304), response.get_data(as_text=True)
    return response


def test_same_bytes_and_headers(client: FlaskClient, scenario: Scenario) -> None:
    first, second = feed(client, "/calendar.ics"), feed(client, "/calendar.ics")
    assert first.data == second.data
    assert first.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert first.headers["ETag"] == second.headers["ETag"]
    assert not first.headers["ETag"].startswith("W/")
    assert first.headers["Last-Modified"]
    assert "public" in first.headers["Cache-Control"]
    text = first.get_data(as_text=True)
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT12H\r\n" in text
    assert "X-PUBLISHED-TTL:PT12H\r\n" in text
    assert "X-WR-CALNAME:" in text and "\r\nNAME:" in text
    calendar = Calendar.from_ical(first.data)
    assert "UID" not in calendar  # vdirsyncer keeps one event of a feed with a calendar UID
    assert "RDATE" not in text  # VTIMEZONEs in RRULE form
    assert "BEGIN:VALARM" not in text


def test_revalidation_gives_304(client: FlaskClient, scenario: Scenario) -> None:
    first = feed(client, "/calendar.ics")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = feed(client, "/calendar.ics", **{"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert feed(client, "/calendar.ics", **{"If-Modified-Since": modified}).status_code == 304
    stale = feed(
        client, "/calendar.ics", **{"If-None-Match": '"other"', "If-Modified-Since": modified}
    )
    assert stale.status_code == 200  # If-None-Match wins over If-Modified-Since


def test_head(client: FlaskClient, scenario: Scenario) -> None:
    get, head = feed(client, "/calendar.ics"), client.head("/calendar.ics")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(get.data))


def test_change_makes_new_etag(client: FlaskClient, session: Session, scenario: Scenario) -> None:
    paths = ["/calendar.ics", f"/series/{scenario.slug}.ics", f"/calls/{scenario.extra_id}.ics"]
    before = {path: feed(client, path).headers["ETag"] for path in paths}
    extra = calls.get_call(session, scenario.extra_id)
    assert extra is not None
    calls.edit_call(session, extra, title="Budget briefing (moved room)")
    session.commit()
    for path in paths[::2]:
        response = feed(client, path, **{"If-None-Match": before[path]})
        assert response.status_code == 200 and response.headers["ETag"] != before[path]
        assert b"Budget briefing (moved room)" in response.data


def test_poll_costs_no_query(app_factory: Any, database_url: str) -> None:
    app: Flask = app_factory(CACHE_CHECK_SECONDS=3600)
    client = app.test_client()
    assert client.get("/calendar.ics").status_code == 200
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/calendar.ics").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert [s for s in statements if "SAVEPOINT" not in s.upper()] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("alarm=7", "alarm must be"),
        ("alarm=-30", "alarm must be"),
        ("alarm=", "alarm must be"),
        ("alarm=thirty", "alarm must be"),
        ("cancelled=strike", "cancelled must be"),
        ("cancelled=", "cancelled must be"),
    ],
)
def test_invalid_options(client: FlaskClient, scenario: Scenario, query: str, message: str) -> None:
    for path in (
        "/calendar.ics",
        f"/series/{scenario.slug}.ics",
        "/regions/africa.ics",
        f"/calls/{scenario.extra_id}.ics",
    ):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/series/no-such-series.ics",
        "/regions/atlantis.ics",
        "/calls/999999.ics",
        "/calls/99999999999999.ics",
    ],
)
def test_unknown_is_404(client: FlaskClient, scenario: Scenario, path: str) -> None:
    assert client.get(path).status_code == 404


def test_private_series_is_404(client: FlaskClient, session: Session, scenario: Scenario) -> None:
    series = calls.find_series(session, scenario.slug)
    assert series is not None
    series.is_public = False
    session.commit()
    assert client.get(f"/series/{scenario.slug}.ics").status_code == 404
    assert f"series-{series.id}@".encode() not in client.get("/calendar.ics").data


def test_alarm_option(client: FlaskClient, scenario: Scenario) -> None:
    text = feed(client, "/calendar.ics?alarm=30").get_data(as_text=True)
    assert "BEGIN:VALARM" in text and "TRIGGER:-PT30M" in text


def test_cancelled_options(client: FlaskClient, scenario: Scenario) -> None:
    hidden = Calendar.from_ical(feed(client, "/calendar.ics").data)
    shown = Calendar.from_ical(feed(client, "/calendar.ics?cancelled=show").data)
    assert not [e for e in hidden.walk("VEVENT") if e.get("STATUS") == "CANCELLED"]
    cancelled = [e for e in shown.walk("VEVENT") if e.get("STATUS") == "CANCELLED"]
    assert len(cancelled) == 1 and str(cancelled[0]["SUMMARY"]).startswith("Cancelled: ")
    original = cancelled[0].decoded("RECURRENCE-ID")
    assert original.astimezone(dt.UTC) == scenario.cancelled
    exdates = [moment for event in hidden.walk("VEVENT") for moment in exdates_of(event)]
    assert [moment.astimezone(dt.UTC) for moment in exdates] == [scenario.cancelled]
    assert not [e for e in shown.walk("VEVENT") if "EXDATE" in e]  # never both for one call


def test_series_change_and_overrides(client: FlaskClient, scenario: Scenario) -> None:
    calendar = Calendar.from_ical(feed(client, "/calendar.ics").data)
    masters = [e for e in calendar.walk("VEVENT") if "RRULE" in e]
    assert len(masters) == 2 and len({str(e["UID"]) for e in masters}) == 2
    old, new = masters
    until = old["RRULE"]["UNTIL"][0]
    assert until.tzinfo is not None and until.utcoffset() == dt.timedelta(0)
    assert "UNTIL" not in new["RRULE"]
    assert str(old["DTSTART"].params["TZID"]) == "America/New_York"
    moved = [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" in e]
    assert len(moved) == 1 and moved[0]["UID"] == old["UID"]
    assert moved[0].decoded("RECURRENCE-ID").astimezone(dt.UTC) == scenario.moved_from
    assert moved[0].decoded("DTSTART").astimezone(dt.UTC) == scenario.moved_to
    assert int(moved[0]["SEQUENCE"]) > int(old["SEQUENCE"])
    extra = [e for e in calendar.walk("VEVENT") if str(e["UID"]).startswith("call-")]
    assert len(extra) == 1 and str(extra[0]["UID"]) == f"call-{scenario.extra_id}@localhost"
    assert str(extra[0]["DTSTART"].params["TZID"]) == "Europe/Brussels"
    zones = sorted(str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE"))
    assert zones == ["America/New_York", "Europe/Brussels"]


def test_description_has_cities_links_and_notes(
    client: FlaskClient, session: Session, scenario: Scenario
) -> None:
    session.add(
        Note(
            call_id=scenario.moved_id,
            title="Notes",
            slug="check-in-notes",
            body="- Hello",
            body_html="<ul><li>Hello</li></ul>",
            status="published",
        )
    )
    session.commit()
    calendar = Calendar.from_ical(feed(client, "/calendar.ics").data)
    moved = next(e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" in e)
    description = str(moved["DESCRIPTION"])
    assert "New York // " in description and "Brussels" in description
    assert "Join: https://meet.example.org/check-in" in description
    assert f"Call page: http://localhost/calls/{scenario.moved_id}" in description
    assert "Notes: http://localhost/notes/check-in-notes" in description
    assert str(moved["URL"]) == f"http://localhost/calls/{scenario.moved_id}"


def test_region_feed(client: FlaskClient, session: Session, scenario: Scenario) -> None:
    calls.create_series(
        session,
        calls.SeriesInput(
            title="Andes caucus",
            timezone="America/Lima",
            start_time="08:00",
            rrule="FREQ=WEEKLY;BYDAY=WE",
            first_date=scenario.now.date(),
            region="latin-america",
        ),
    )
    session.commit()
    andes = feed(client, "/regions/peru.ics").data
    africa = feed(client, "/regions/africa.ics").data
    assert b"Andes caucus" not in africa and b"Coalition check-in" in africa
    for path in ("/regions/latin-america.ics", "/regions/americas.ics"):
        data = feed(client, path).data
        assert b"Andes caucus" in data and b"Coalition check-in" in data
    assert b"Andes caucus" not in andes  # a country's feed has its own and coalition-wide series


def test_single_call(client: FlaskClient, scenario: Scenario) -> None:
    calendar = Calendar.from_ical(feed(client, f"/calls/{scenario.moved_id}.ics").data)
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"call-{scenario.moved_id}@localhost"
    assert "RECURRENCE-ID" not in event and "RRULE" not in event
    assert event.decoded("DTSTART").astimezone(dt.UTC) == scenario.moved_to


@pytest.mark.parametrize("signed_in", [False, True])
def test_feeds_do_not_vary_on_cookie(
    client: FlaskClient, scenario: Scenario, make_user: Any, auth: Any, signed_in: bool
) -> None:
    """A public feed is the same for everyone: a shared cache must keep one copy, so no
    Vary: Cookie and no session cookie, even for a signed-in member."""
    if signed_in:
        make_user("member@example.org")
        assert auth.login("member@example.org").status_code == 302
    client.set_cookie("convene_locale", "en")
    for path in ("/calendar.ics", f"/series/{scenario.slug}.ics", "/notes.atom"):
        for response in (client.get(path), client.head(path)):
            assert response.status_code == 200
            assert "Cookie" not in response.headers.get("Vary", ""), path
            assert "Set-Cookie" not in response.headers, path
    # HTML pages still vary: they hold per-visitor content.
    assert "Cookie" in client.get("/").headers.get("Vary", "")
