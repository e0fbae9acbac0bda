"""Call pages and editor forms, through HTTP."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.calls import services
from app.calls.models import Call, Series
from app.db import utcnow

from ..conftest import AuthActions, csrf_token


def make_series(session: Session, **overrides: Any) -> Series:
    values: dict[str, Any] = {
        "title": "Global coalition call",
        "timezone": "America/New_York",
        "start_time": "10:00",
        "rrule": "FREQ=MONTHLY;BYDAY=2TU",
        "first_date": (utcnow() - dt.timedelta(days=120)).date().isoformat(),
        "join_url": "https://meet.example.org/coalition",
        "registration_url": "https://example.org/register",
    }
    series = services.create_series(session, services.SeriesInput(**(values | overrides)))
    session.commit()
    return series


def next_call(session: Session, series: Series) -> Call:
    query = (
        sa.select(Call)
        .where(Call.series_id == series.id, Call.start_at > utcnow())
        .order_by(Call.start_at)
    )
    return session.scalars(query).first()


@pytest.fixture
def editor(auth: AuthActions, make_user: Any) -> AuthActions:
    make_user("editor@example.org", role="editor", name="Eda Editor")
    auth.login("editor@example.org")
    return auth


def test_home_lists_upcoming_calls_with_city_times(client: FlaskClient, session: Session) -> None:
    series = make_series(session)
    call = next_call(session, series)
    html = client.get("/").get_data(as_text=True)
    assert f'data-call-id="{call.id}"' in html
    assert "10:00 AM New York" in html and "Jakarta" in html
    assert html.count('class="call-card') == 10
    assert f'datetime="{call.start_at.isoformat()}" data-local-time' in html


def test_call_page_shows_times_links_and_announcement(
    client: FlaskClient, session: Session
) -> None:
    series = make_series(session)
    call = next_call(session, series)
    response = client.get(f"/calls/{call.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'<tr data-zone="Asia/Jakarta">\s*<th scope="row">Jakarta</th>', html)
    assert "https://meet.example.org/coalition" in html and "Register" in html
    assert ", 10:00 AM New York // " in html  # the announcement
    assert 'data-copy="announcement-' in html
    assert "Change log" not in html  # editors only


def test_cancelled_call_shows_its_reason_and_no_join_link(
    client: FlaskClient, session: Session
) -> None:
    series = make_series(session)
    call = next_call(session, series)
    services.cancel_call(session, call, "Holiday week")
    session.commit()
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "This call is cancelled. Holiday week" in html
    assert "Join the call" not in html


def test_missing_and_private_calls_are_404(client: FlaskClient, session: Session) -> None:
    assert client.get("/calls/999999").status_code == 404
    private = make_series(session, title="Steering group", is_public=False)
    assert client.get(f"/calls/{next_call(session, private).id}").status_code == 404
    assert client.get(f"/series/{private.slug}").status_code == 404
    assert "Steering group" not in client.get("/").get_data(as_text=True)


def test_past_calls_archive_pages(client: FlaskClient, session: Session) -> None:
    make_series(session, rrule="FREQ=WEEKLY", first_date="2025-01-01")
    first = client.get("/calls/past").get_data(as_text=True)
    assert first.count('class="call-card') == 20 and 'rel="next"' in first
    second = client.get("/calls/past?page=2").get_data(as_text=True)
    assert 'rel="prev"' in second
    assert client.get("/calls/past?page=0").status_code == 404


def test_series_page_summarises_the_rule(client: FlaskClient, session: Session) -> None:
    series = make_series(session)
    html = client.get(f"/series/{series.slug}").get_data(as_text=True)
    assert "Monthly on the second Tuesday at 10:00 New York time" in html
    assert client.get("/series/no-such-series").status_code == 404


def test_editor_pages_need_an_account(client: FlaskClient, session: Session) -> None:
    series = make_series(session)
    call = next_call(session, series)
    for path in (
        "/series/new",
        f"/series/{series.slug}/edit",
        f"/calls/{call.id}/edit",
        "/calls/new",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def _series_form(**overrides: str) -> dict[str, str]:
    return {
        "title": "Africa regional call",
        "timezone": "Africa/Lagos",
        "start_time": "14:00",
        "duration_minutes": "60",
        "rrule": "FREQ=MONTHLY;BYDAY=-1TH",
        "first_date": "2026-01-01",
        "join_url": "",
        "registration_url": "",
        "region": "",
        "display_cities": "Lagos | Africa/Lagos\nNairobi | Africa/Nairobi",
        "reminder_minutes": "1440, 30",
        "is_public": "y",
    } | overrides


def test_preview_shows_the_next_calls_and_saves_nothing(
    client: FlaskClient, editor: AuthActions, session: Session
) -> None:
    data = _series_form(csrf_token=csrf_token(client, "/series/new"), preview="1")
    response = client.post("/series/new", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("Lagos //") == 6 and "Thursday 4:00 PM Nairobi" in html
    assert session.scalar(sa.select(sa.func.count(Series.id))) == 0


def test_create_series_through_the_form(
    client: FlaskClient, editor: AuthActions, session: Session
) -> None:
    data = _series_form(csrf_token=csrf_token(client, "/series/new"), save="1")
    response = client.post("/series/new", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/series/africa-regional-call"
    series = session.scalar(sa.select(Series))
    assert series.rrule == "FREQ=MONTHLY;BYDAY=-1TH" and len(series.calls) > 12
    assert [c["label"] for c in series.display_cities] == ["Lagos", "Nairobi"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"rrule": "FREQ=HOURLY"}, "rrule", "FREQ must be WEEKLY or MONTHLY"),
        ({"timezone": "Africa/Atlantis"}, "timezone", "not a known time zone"),
        ({"rrule": "FREQ=MONTHLY;BYDAY=1MO;UNTIL=20200101"}, "rrule", "yields no calls"),
        ({"start_time": "noon"}, "start_time", "Not a valid time value"),
        ({"display_cities": "Lagos"}, "display_cities", "Label | Area/Zone"),
    ],
)
def test_bad_series_form_is_422_naming_the_field(
    client: FlaskClient,
    editor: AuthActions,
    session: Session,
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    data = _series_form(csrf_token=csrf_token(client, "/series/new"), save="1", **overrides)
    response = client.post("/series/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-errors"' in html and message in html
    assert session.scalar(sa.select(sa.func.count(Series.id))) == 0


def test_rule_change_through_the_form_continues_the_series(
    client: FlaskClient, editor: AuthActions, session: Session
) -> None:
    series = make_series(session)
    path = f"/series/{series.slug}/edit"
    effective = (utcnow() + dt.timedelta(days=40)).date().isoformat()
    data = _series_form(
        title="Global coalition call",
        timezone="America/New_York",
        start_time="09:00",
        rrule="FREQ=MONTHLY;BYDAY=2WE",
        first_date=series.first_date.isoformat(),
        effective_from=effective,
        csrf_token=csrf_token(client, path),
        save="1",
    )
    response = client.post(path, data=data)
    assert response.status_code == 302
    session.expire_all()
    old, new = session.scalars(sa.select(Series).order_by(Series.id)).all()
    assert new.previous_id == old.id and new.slug == "global-coalition-call"
    assert old.ends_on == dt.date.fromisoformat(effective) - dt.timedelta(days=1)
    html = client.get(f"/series/{new.slug}").get_data(as_text=True)
    assert "Monthly on the second Wednesday at 09:00 New York time" in html
    assert "Earlier timings" in html


def test_reschedule_cancel_restore_through_the_pages(
    client: FlaskClient, editor: AuthActions, session: Session
) -> None:
    series = make_series(session)
    call = next_call(session, series)
    path = f"/calls/{call.id}/reschedule"
    new_start = (call.start_at + dt.timedelta(days=1)).astimezone(dt.UTC)
    local = new_start.astimezone(ZoneInfo("America/New_York"))
    data = {
        "start": local.strftime("%Y-%m-%dT%H:%M"),
        "timezone": "America/New_York",
        "duration_minutes": "60",
        "csrf_token": csrf_token(client, path),
    }
    assert client.post(path, data=data).status_code == 302
    session.expire_all()
    assert session.get(Call, call.id).start_at == new_start

    page = f"/calls/{call.id}"
    token = csrf_token(client, page)
    assert (
        client.post(f"{page}/cancel", data={"reason": "Clash", "csrf_token": token}).status_code
        == 302
    )
    html = client.get(page).get_data(as_text=True)
    assert "This call is cancelled. Clash" in html and "Change log" in html
    assert "rescheduled (Eda Editor)" in html and "cancelled (Eda Editor)" in html

    response = client.post(path, data=data | {"csrf_token": csrf_token(client, page)})
    assert response.status_code == 422  # a cancelled call cannot be rescheduled
    assert "restore it first" in response.get_data(as_text=True)
    assert client.post(f"{page}/restore", data={"csrf_token": token}).status_code == 302
    session.expire_all()
    assert session.get(Call, call.id).status == "scheduled"
    assert client.post(f"{page}/restore", data={"csrf_token": token}).status_code == 409


def test_edit_call_and_add_recording(
    client: FlaskClient, editor: AuthActions, session: Session
) -> None:
    series = make_series(session)
    call = next_call(session, series)
    path = f"/calls/{call.id}/edit"
    data = {
        "title": "Year-end call",
        "agenda": "1. Global updates\n2. Regional updates",
        "join_url": "https://meet.example.org/coalition",
        "registration_url": "https://example.org/register",
        "recording_url": "https://video.example.org/rec",
        "csrf_token": csrf_token(client, path),
    }
    assert client.post(path, data=data).status_code == 302
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Year-end call" in html and "Recording" in html and "Regional updates" in html
    bad = client.post(path, data=data | {"recording_url": "javascript:alert(1)"})
    assert bad.status_code == 422


def test_add_extra_call_through_the_form(
    client: FlaskClient, editor: AuthActions, session: Session
) -> None:
    data = {
        "title": "West Africa call",
        "series": "",
        "start": "2027-02-03T14:00",
        "timezone": "Africa/Lagos",
        "duration_minutes": "45",
        "agenda": "",
        "join_url": "",
        "registration_url": "",
        "region": "",
        "csrf_token": csrf_token(client, "/calls/new"),
    }
    response = client.post("/calls/new", data=data)
    assert response.status_code == 302
    call = session.scalar(sa.select(Call))
    assert call.is_extra and call.start_at == dt.datetime(2027, 2, 3, 13, 0, tzinfo=dt.UTC)
    bad = client.post("/calls/new", data=data | {"timezone": "Lagos"})
    assert bad.status_code == 422 and "not a known time zone" in bad.get_data(as_text=True)


def test_your_time_falls_back_to_the_users_chosen_zone(
    client: FlaskClient, editor: AuthActions, session: Session
) -> None:
    from app.auth.models import User

    user = session.scalar(sa.select(User).where(User.email == "editor@example.org"))
    user.timezone = "Asia/Jakarta"
    session.commit()
    call = next_call(session, make_series(session))
    jakarta = call.start_at.astimezone(ZoneInfo("Asia/Jakarta"))
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    fallback = re.search(r"data-local-time>([^<]+)</time>", html).group(1)
    assert jakarta.strftime("%I:%M:%S\u202f%p").lstrip("0") in fallback
    assert "Indonesia" in fallback


def test_reschedule_with_an_end_before_its_start_is_422(
    client: FlaskClient, editor: AuthActions, session: Session
) -> None:
    call = next_call(session, make_series(session))
    path = f"/calls/{call.id}/reschedule"
    data = {
        "start": "2027-05-05T10:00",
        "end": "2027-05-05T09:00",
        "timezone": "America/New_York",
        "duration_minutes": "60",
        "csrf_token": csrf_token(client, path),
    }
    response = client.post(path, data=data)
    assert response.status_code == 422
    assert 'id="end-errors"' in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Call, call.id).sequence == 0
    assert client.post(path, data=data | {"end": "2027-05-05T11:30"}).status_code == 302
    session.expire_all()
    moved = session.get(Call, call.id)
    assert moved.end_at - moved.start_at == dt.timedelta(minutes=90)
