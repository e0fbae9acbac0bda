"""Scheduling rules: series, regeneration, single-call changes, series changes."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.calls import services
from app.calls.models import Call, CallChange, Series
from app.calls.services import CallError, SeriesInput

NEW_YORK = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def default_series(**overrides: Any) -> SeriesInput:
    values: dict[str, Any] = {
        "title": "Global coalition call",
        "timezone": "America/New_York",
        "start_time": "10:00",
        "rrule": "FREQ=MONTHLY;BYDAY=2TU",
        "first_date": "2026-01-01",
        "duration_minutes": 60,
    }
    return SeriesInput(**(values | overrides))


def calls_of(session: Session, series: Series) -> list[Call]:
    query = sa.select(Call).where(Call.series_id == series.id).order_by(Call.start_at)
    return list(session.scalars(query))


def call_on(session: Session, series: Series, day: dt.date) -> Call:
    (call,) = [
        c
        for c in calls_of(session, series)
        if c.original_start_at.astimezone(NEW_YORK).date() == day
    ]
    return call


def test_create_stores_calls_up_to_the_horizon(session: Session) -> None:
    series = services.create_series(session, default_series(), now=NOW)
    calls = calls_of(session, series)
    local_dates = [c.start_at.astimezone(NEW_YORK).date() for c in calls]
    assert local_dates[0] == dt.date(2026, 1, 13)
    assert local_dates[-1] == dt.date(2027, 11, 9)  # 12 months after 2026-11-22
    assert len(calls) == 23
    assert series.first_date == dt.date(2026, 1, 13)  # the first real occurrence
    assert all(c.original_start_at == c.start_at and c.sequence == 0 for c in calls)


def test_regeneration_is_idempotent_and_extends_the_horizon(session: Session) -> None:
    series = services.create_series(session, default_series(), now=NOW)
    again = services.generate_calls(session, series, now=NOW)
    assert (again.created, again.removed, again.updated) == (0, 0, 0)
    later = services.generate_calls(session, series, now=NOW + dt.timedelta(days=31))
    assert later.created == 1
    starts = [c.original_start_at for c in calls_of(session, series)]
    assert len(starts) == len(set(starts)) == 24


def test_reschedule_across_a_dst_change_keeps_the_slot(session: Session) -> None:
    series = services.create_series(session, default_series(first_date="2027-01-01"), now=NOW)
    # New York moves to summer time on 14 March 2027: the 9 March call is at 15:00 UTC, and
    # moved to 16 March at 10:00 local it is at 14:00 UTC.
    call = call_on(session, series, dt.date(2027, 3, 9))
    assert call.start_at == dt.datetime(2027, 3, 9, 15, 0, tzinfo=dt.UTC)  # EST
    services.reschedule_call(session, call, "2027-03-16T10:00", now=NOW)
    assert call.start_at == dt.datetime(2027, 3, 16, 14, 0, tzinfo=dt.UTC)  # EDT
    assert call.end_at - call.start_at == dt.timedelta(hours=1)
    assert call.original_start_at == dt.datetime(2027, 3, 9, 15, 0, tzinfo=dt.UTC)
    assert call.sequence == 1 and call.is_rescheduled
    # Regeneration keeps the override and adds no call in the old slot.
    services.generate_calls(session, series, now=NOW)
    march = [c for c in calls_of(session, series) if c.original_start_at.month == 3]
    assert [c.start_at for c in march] == [dt.datetime(2027, 3, 16, 14, 0, tzinfo=dt.UTC)]


def test_cancel_and_restore(session: Session) -> None:
    series = services.create_series(session, default_series(), now=NOW)
    call = call_on(session, series, dt.date(2026, 12, 8))
    services.cancel_call(session, call, "Holiday week", now=NOW)
    assert call.is_cancelled and call.cancel_reason == "Holiday week" and call.sequence == 1
    services.generate_calls(session, series, now=NOW)
    assert call_on(session, series, dt.date(2026, 12, 8)).is_cancelled
    with pytest.raises(CallError) as error:
        services.reschedule_call(session, call, "2026-12-09T10:00", now=NOW)
    assert error.value.field == "status"
    services.restore_call(session, call, now=NOW)
    assert not call.is_cancelled and call.cancel_reason == "" and call.sequence == 2
    actions = session.scalars(sa.select(CallChange.action).where(CallChange.call_id == call.id))
    assert list(actions) == ["cancelled", "restored"]


def test_extra_call_with_and_without_a_series(session: Session) -> None:
    series = services.create_series(session, default_series(), now=NOW)
    extra = services.add_extra_call(
        session,
        title="",
        series=series,
        start="2027-02-01T15:00",
        timezone="Europe/Brussels",
        now=NOW,
    )
    assert extra.is_extra and extra.display_title == "Global coalition call"
    assert extra.start_at == dt.datetime(2027, 2, 1, 14, 0, tzinfo=dt.UTC)
    assert extra.effective_join_url == series.join_url
    alone = services.add_extra_call(
        session,
        title="West Africa call",
        start="2027-02-03T14:00",
        timezone="Africa/Lagos",
        now=NOW,
    )
    assert alone.series is None and alone.start_at.hour == 13
    before = len(calls_of(session, series))
    services.generate_calls(session, series, now=NOW)
    assert len(calls_of(session, series)) == before  # the extra call is kept, not duplicated


def test_edit_call_overrides_and_inherits(session: Session) -> None:
    series = services.create_series(
        session, default_series(join_url="https://meet.example.org/a"), now=NOW
    )
    call = call_on(session, series, dt.date(2026, 12, 8))
    services.edit_call(session, call, title="Year-end call", agenda="Plans for 2027", now=NOW)
    assert call.display_title == "Year-end call" and call.is_edited and call.sequence == 1
    services.edit_call(session, call, title="Year-end call", now=NOW)
    assert call.sequence == 1  # nothing changed, nothing logged
    services.edit_call(session, call, join_url="https://meet.example.org/a", now=NOW)
    assert call.join_url is None  # the same as the series': inherits
    services.edit_call(session, call, recording_url="https://video.example.org/r1", now=NOW)
    assert call.recording_url.endswith("/r1") and call.changes[-1].action == "recording"


def test_series_rule_change_closes_and_continues(session: Session) -> None:
    series = services.create_series(session, default_series(), now=NOW)
    past = call_on(session, series, dt.date(2026, 10, 13))
    future = call_on(session, series, dt.date(2027, 2, 9))
    services.cancel_call(session, future, "moved", now=NOW)
    successor = services.update_series(
        session,
        series,
        default_series(rrule="FREQ=MONTHLY;BYDAY=2WE", start_time="09:00"),
        effective_from="2027-01-01",
        now=NOW,
    )
    assert successor.id != series.id and successor.previous is series
    assert successor.slug == "global-coalition-call"
    assert series.slug == "global-coalition-call-until-2026-12-31"
    assert series.ends_on == dt.date(2026, 12, 31)
    old = calls_of(session, series)
    assert old[-1].start_at.astimezone(NEW_YORK).date() == dt.date(2026, 12, 8)
    assert past in old  # past calls (and their notes) stay with the old series
    new = calls_of(session, successor)
    assert new[0].start_at == dt.datetime(2027, 1, 13, 14, 0, tzinfo=dt.UTC)
    assert successor.first_date == dt.date(2027, 1, 13)
    all_starts = [c.start_at for c in session.scalars(sa.select(Call))]
    assert len(all_starts) == len(set(all_starts))


def test_in_place_changes_keep_the_series(session: Session) -> None:
    series = services.create_series(session, default_series(), now=NOW)
    call = call_on(session, series, dt.date(2026, 12, 8))
    services.reschedule_call(session, call, "2026-12-09T10:00", now=NOW)
    same = services.update_series(
        session, series, default_series(title="Coalition call", duration_minutes=90), now=NOW
    )
    assert same is series and series.title == "Coalition call" and series.sequence == 1
    untouched = call_on(session, series, dt.date(2027, 1, 12))
    assert untouched.end_at - untouched.start_at == dt.timedelta(minutes=90)
    assert call.end_at - call.start_at == dt.timedelta(hours=1)  # an override keeps its own


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"rrule": "FREQ=YEARLY"}, "rrule"),
        ({"rrule": "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20000101"}, "rrule"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"start_time": "25:00"}, "start_time"),
        ({"first_date": "2026-02-30"}, "first_date"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"title": " "}, "title"),
        ({"join_url": "javascript:alert(1)"}, "join_url"),
        ({"region": "atlantis"}, "region"),
        ({"display_cities": "Jakarta Asia/Jakarta"}, "display_cities"),
        ({"display_cities": "Jakarta | Asia/Nowhere"}, "display_cities"),
        ({"reminder_minutes": "soon"}, "reminder_minutes"),
    ],
)
def test_bad_series_input_names_the_field_and_changes_nothing(
    session: Session, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(CallError) as error:
        services.create_series(session, default_series(**overrides), now=NOW)
    assert error.value.field == field
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(Series.id))) == 0


def test_bad_call_changes_name_the_field(session: Session) -> None:
    series = services.create_series(session, default_series(), now=NOW)
    call = call_on(session, series, dt.date(2026, 12, 8))
    cases = [
        (lambda: services.reschedule_call(session, call, "next tuesday", now=NOW), "start"),
        (
            lambda: services.reschedule_call(
                session, call, "2026-12-09T10:00", duration_minutes=-5, now=NOW
            ),
            "duration_minutes",
        ),
        (
            lambda: services.reschedule_call(
                session, call, "2026-12-09T10:00", timezone="Nowhere", now=NOW
            ),
            "timezone",
        ),
        (
            lambda: services.reschedule_call(
                session, call, "2026-12-09T10:00", end="2026-12-09T09:00", now=NOW
            ),
            "end",
        ),
        (lambda: services.restore_call(session, call, now=NOW), "status"),
        (
            lambda: services.edit_call(session, call, recording_url="ftp://x", now=NOW),
            "recording_url",
        ),
        (
            lambda: services.add_extra_call(
                session, title="", start="2027-01-01T10:00", timezone="UTC", now=NOW
            ),
            "title",
        ),
    ]
    for action, field in cases:
        with pytest.raises(CallError) as error:
            action()
        assert error.value.field == field
    assert call.sequence == 0 and call.start_at == call.original_start_at
