"""`flask calls ...` commands and the demo data of `flask demo`."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session

from app.calls import services
from app.calls.models import DEFAULT_CITIES, Call, CallChange, Series
from app.db import utcnow
from app.taxonomy.services import ensure_region

NEW_YORK = ZoneInfo("America/New_York")
BRUSSELS = ZoneInfo("Europe/Brussels")


def invoke(runner: Any, *args: str) -> Any:
    return runner.invoke(args=["calls", *args])


def snapshot(session: Session) -> tuple[Any, ...]:
    """Everything a command could change, to compare before and after a refused one."""
    session.expire_all()
    series = session.execute(
        sa.select(Series.id, Series.slug, Series.rrule, Series.ends_on).order_by(Series.id)
    ).all()
    calls = session.execute(
        sa.select(
            Call.id, Call.start_at, Call.end_at, Call.timezone, Call.status, Call.cancel_reason
        ).order_by(Call.id)
    ).all()
    changes = session.scalar(sa.select(sa.func.count(CallChange.id)))
    return series, calls, changes


def make_series(session: Session, **overrides: Any) -> Series:
    """A monthly series (second Tuesday, 10:00 New York) starting tomorrow, committed."""
    fields: dict[str, Any] = {
        "title": "Monthly call",
        "timezone": "America/New_York",
        "start_time": "10:00",
        "rrule": "FREQ=MONTHLY;BYDAY=2TU;COUNT=4",
        "first_date": utcnow().date() + dt.timedelta(days=1),
        "join_url": "https://meet.example.org/monthly",
    }
    series = services.create_series(session, services.SeriesInput(**(fields | overrides)))
    session.commit()
    return series


def make_extra(session: Session, start: str, zone: str, title: str = "Board call") -> Call:
    call = services.add_extra_call(session, title=title, start=start, timezone=zone)
    session.commit()
    return call


# --- create-series ---------------------------------------------------------------------------

SERIES_ARGS = {
    "--title": "Steering group",
    "--timezone": "America/New_York",
    "--start-time": "10:00",
    "--rrule": "FREQ=MONTHLY;BYDAY=2TU;COUNT=3",
    "--first-date": "2026-01-01",
}


def series_args(**overrides: str) -> list[str]:
    options = SERIES_ARGS | {f"--{name.replace('_', '-')}": v for name, v in overrides.items()}
    return [item for pair in options.items() for item in pair]


def test_create_series(runner: Any, session: Session) -> None:
    ensure_region(session, "west-africa", "West Africa")
    session.commit()
    first = utcnow().date() + dt.timedelta(days=1)
    result = invoke(
        runner,
        "create-series",
        *series_args(first_date=first.isoformat(), duration="90", region="west-africa"),
        "--description",
        "Steering the coalition.",
        "--join-url",
        "https://meet.example.org/steering",
        "--registration-url",
        "https://example.org/steering",
        "--city",
        "New York|America/New_York",
        "--city",
        " Lagos | Africa/Lagos ",
        "--reminders",
        "30,1440",
        "--private",
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Created series steering-group.",
        "Monthly on the second Tuesday at 10:00 New York time, 3 times.",
        "3 calls scheduled.",
    ]
    session.expire_all()
    series = services.find_series(session, "steering-group")
    assert series is not None
    assert (series.title, series.description) == ("Steering group", "Steering the coalition.")
    assert (series.timezone, series.start_time) == ("America/New_York", dt.time(10, 0))
    assert (series.rrule, series.duration_minutes) == ("FREQ=MONTHLY;BYDAY=2TU;COUNT=3", 90)
    assert series.join_url == "https://meet.example.org/steering"
    assert series.registration_url == "https://example.org/steering"
    assert series.region is not None and series.region.slug == "west-africa"
    assert series.display_cities == [
        {"label": "New York", "zone": "America/New_York"},
        {"label": "Lagos", "zone": "Africa/Lagos"},
    ]
    assert series.reminder_minutes == [1440, 30]
    assert series.is_public is False
    assert len(series.calls) == 3
    for call in series.calls:
        local = call.start_at.astimezone(NEW_YORK)
        assert (local.weekday(), local.hour, local.minute) == (1, 10, 0)
        assert 8 <= local.day <= 14 and local.date() >= first
        assert call.end_at - call.start_at == dt.timedelta(minutes=90)
    # The series starts on its first occurrence, not on the date given.
    assert series.first_date == series.calls[0].start_at.astimezone(NEW_YORK).date()


def test_create_series_defaults_and_unique_slug(runner: Any, session: Session) -> None:
    for _ in range(2):
        result = invoke(runner, "create-series", *series_args())
        assert result.exit_code == 0, result.output
    session.expire_all()
    slugs = session.scalars(sa.select(Series.slug).order_by(Series.id)).all()
    assert slugs == ["steering-group", "steering-group-2"]
    assert "Created series steering-group-2." in result.output
    series = services.find_series(session, "steering-group")
    assert series is not None
    assert series.display_cities == DEFAULT_CITIES
    assert series.reminder_minutes == [1440, 30]
    assert (series.duration_minutes, series.is_public) == (60, True)
    # COUNT=3 from 2026-01-01: January, February and March 2026, whatever today is.
    starts = [call.start_at.astimezone(NEW_YORK).date() for call in series.calls]
    assert starts == [dt.date(2026, 1, 13), dt.date(2026, 2, 10), dt.date(2026, 3, 10)]


@pytest.mark.parametrize(
    ("overrides", "extra", "message"),
    [
        ({"rrule": "FREQ=DAILY"}, [], "rrule: FREQ must be WEEKLY or MONTHLY."),
        ({"rrule": "FREQ=MONTHLY;BYDAY=2XX"}, [], "rrule: BYDAY: '2XX' is not a day"),
        (
            {"rrule": "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20000101"},
            [],
            "rrule: This rule yields no calls from the first date on",
        ),
        ({"timezone": "Mars/Olympus"}, [], "timezone: 'Mars/Olympus' is not a known time zone"),
        ({"title": "  "}, [], "title: The title must have 1 to 200 characters."),
        ({"start_time": "25:00"}, [], "start-time: '25:00' is not a time such as 10:00."),
        ({"first_date": "2026-02-30"}, [], "first-date: '2026-02-30' is not a date"),
        ({"duration": "0"}, [], "duration: Give between 1 and 1440 minutes, not 0."),
        ({"region": "atlantis"}, [], "region: There is no region 'atlantis'."),
        ({"join_url": "ftp://example.org"}, [], "join-url: 'ftp://example.org' is not an http"),
        ({}, ["--city", "Lagos"], "city: 'Lagos' is not of the form 'Label|Area/Zone'"),
        ({}, ["--city", "Atlantis|Sea/Deep"], "city: Atlantis: 'Sea/Deep' is not a known"),
        ({}, ["--reminders", "30,soon"], "reminders: 'soon' is not a number of minutes."),
    ],
)
def test_create_series_refuses_bad_input(
    runner: Any, session: Session, overrides: dict[str, str], extra: list[str], message: str
) -> None:
    make_series(session)
    before = snapshot(session)
    result = invoke(runner, "create-series", *series_args(**overrides), *extra)
    assert result.exit_code == 1, result.output
    assert f"Error: {message}" in result.output
    assert snapshot(session) == before


def test_create_series_usage_errors(runner: Any, session: Session) -> None:
    result = invoke(runner, "create-series", *series_args(duration="an hour"))
    assert result.exit_code == 2
    assert "Invalid value for '--duration'" in result.output
    args = series_args()
    result = invoke(runner, "create-series", *args[2:])  # no --title
    assert result.exit_code == 2
    assert "Missing option '--title'" in result.output
    assert snapshot(session) == ([], [], 0)


# --- list ------------------------------------------------------------------------------------


def line(call: Call, zone: ZoneInfo, status: str, title: str, marker: str = "") -> str:
    start = call.start_at.astimezone(zone).isoformat(timespec="minutes")
    return "\t".join([str(call.id), start, str(zone), status, title] + ([marker] if marker else []))


def test_list_upcoming_past_and_filters(runner: Any, session: Session) -> None:
    series = make_series(session)
    calls = list(series.calls)
    services.reschedule_call(session, calls[1], "2099-01-01T09:00")  # moved to the end
    services.cancel_call(session, calls[2], "Holiday")
    session.commit()
    past = make_extra(session, "2020-03-01T10:00", "Europe/Brussels", "Old call")
    older = make_extra(session, "2019-03-01T10:00", "Europe/Brussels", "Older call")
    future = make_extra(session, "2098-02-01T15:00", "Europe/Brussels")

    result = invoke(runner, "list")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        line(calls[0], NEW_YORK, "scheduled", "Monthly call"),
        line(calls[2], NEW_YORK, "cancelled", "Monthly call"),
        line(calls[3], NEW_YORK, "scheduled", "Monthly call"),
        f"{future.id}\t2098-02-01T15:00+01:00\tEurope/Brussels\tscheduled\tBoard call\textra",
        f"{calls[1].id}\t2099-01-01T09:00-05:00\tAmerica/New_York\tscheduled\tMonthly call"
        "\trescheduled",
    ]

    result = invoke(runner, "list", "--past")
    assert result.output.splitlines() == [
        f"{past.id}\t2020-03-01T10:00+01:00\tEurope/Brussels\tscheduled\tOld call\textra",
        f"{older.id}\t2019-03-01T10:00+01:00\tEurope/Brussels\tscheduled\tOlder call\textra",
    ]
    result = invoke(runner, "list", "--past", "--limit", "1", "--from", "2019-01-01")
    assert result.output.splitlines() == [line(past, BRUSSELS, "scheduled", "Old call", "extra")]
    result = invoke(runner, "list", "--past", "--to", "2019-12-31")
    assert [row.split("\t")[0] for row in result.output.splitlines()] == [str(older.id)]

    result = invoke(runner, "list", "--status", "cancelled")
    assert result.output.splitlines() == [line(calls[2], NEW_YORK, "cancelled", "Monthly call")]
    result = invoke(runner, "list", "--series", series.slug, "--limit", "2")
    assert [row.split("\t")[0] for row in result.output.splitlines()] == [
        str(calls[0].id),
        str(calls[2].id),
    ]
    # --from includes past calls; --to includes its whole (UTC) day.
    result = invoke(runner, "list", "--from", "2020-03-01", "--to", "2098-02-01")
    ids = [row.split("\t")[0] for row in result.output.splitlines()]
    assert ids == [
        str(past.id),
        str(calls[0].id),
        str(calls[2].id),
        str(calls[3].id),
        str(future.id),
    ]
    result = invoke(runner, "list", "--from", "2021-01-01", "--to", "2021-12-31")
    assert result.output == "No calls.\n"


def test_list_refuses_bad_input(runner: Any, session: Session) -> None:
    result = invoke(runner, "list", "--series", "nope")
    assert result.exit_code == 1
    assert "Error: No series with slug 'nope'." in result.output
    result = invoke(runner, "list", "--from", "2026-13-01")
    assert result.exit_code == 2
    assert "Invalid value for '--from': '2026-13-01' does not match the format" in result.output
    result = invoke(runner, "list", "--from", "2027-02-01", "--to", "2027-01-01")
    assert result.exit_code == 2
    assert "Invalid value for '--to': must not be before --from." in result.output
    result = invoke(runner, "list", "--status", "postponed")
    assert result.exit_code == 2
    assert "'postponed' is not one of 'scheduled', 'cancelled'" in result.output
    result = invoke(runner, "list", "--limit", "0")
    assert result.exit_code == 2


# --- reschedule, cancel, restore -------------------------------------------------------------


def test_reschedule_in_the_calls_zone(runner: Any, session: Session) -> None:
    call = make_series(session).calls[0]
    original = call.start_at
    day = original.astimezone(NEW_YORK).date()
    result = invoke(runner, "reschedule", str(call.id), "--start", f"{day}T11:30")
    assert result.exit_code == 0, result.output
    session.expire_all()
    start = dt.datetime.combine(day, dt.time(11, 30), NEW_YORK)
    assert call.start_at == start and call.end_at == start + dt.timedelta(minutes=60)
    assert call.original_start_at == original and call.is_rescheduled
    assert call.timezone == "America/New_York"
    offset = start.isoformat(timespec="minutes")[-6:]
    assert result.output == (
        f"Call {call.id} moved to {day}T11:30{offset} - {day}T12:30{offset}.\n"
    )
    assert [change.action for change in call.changes] == ["rescheduled"]


def test_reschedule_in_another_zone_with_a_duration(runner: Any, session: Session) -> None:
    call = make_extra(session, "2090-01-10T10:00", "America/New_York")
    result = invoke(
        runner,
        "reschedule",
        str(call.id),
        "--start",
        "2090-01-10T17:00",
        "--timezone",
        "Europe/Brussels",
        "--duration",
        "90",
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Call {call.id} moved to 2090-01-10T17:00+01:00 - 2090-01-10T18:30+01:00.\n"
    )
    session.expire_all()
    assert call.start_at == dt.datetime(2090, 1, 10, 16, 0, tzinfo=dt.UTC)
    assert call.end_at == dt.datetime(2090, 1, 10, 17, 30, tzinfo=dt.UTC)
    assert call.timezone == "Europe/Brussels"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "next tuesday"], "start: 'next tuesday' is not a date and time"),
        (["--start", "2090-01-10T11:00", "--timezone", "Nope/Nowhere"], "timezone: 'Nope/Nowhere'"),
        (  # an offset in --start does not let an unknown zone through
            ["--start", "2090-01-10T11:00+01:00", "--timezone", "Nope/Nowhere"],
            "timezone: 'Nope/Nowhere' is not a known time zone",
        ),
        (["--start", "2090-01-10T11:00", "--duration", "0"], "duration: Give between 1 and 1440"),
        (["--start", "2090-01-10T10:00"], "start: The call is already at that time."),
    ],
)
def test_reschedule_refuses_bad_input(
    runner: Any, session: Session, args: list[str], message: str
) -> None:
    call = make_extra(session, "2090-01-10T10:00", "America/New_York")
    before = snapshot(session)
    result = invoke(runner, "reschedule", str(call.id), *args)
    assert result.exit_code == 1, result.output
    assert f"Error: {message}" in result.output
    assert snapshot(session) == before


def test_reschedule_refuses_a_cancelled_call_and_unknown_ids(runner: Any, session: Session) -> None:
    call = make_extra(session, "2090-01-10T10:00", "America/New_York")
    services.cancel_call(session, call, "Snow")
    session.commit()
    before = snapshot(session)
    result = invoke(runner, "reschedule", str(call.id), "--start", "2090-01-10T11:00")
    assert result.exit_code == 1
    assert "Error: status: A cancelled call cannot be rescheduled: restore it first." in (
        result.output
    )
    result = invoke(runner, "reschedule", "999999", "--start", "2090-01-10T11:00")
    assert result.exit_code == 1
    assert "Error: No call with id 999999." in result.output
    result = invoke(runner, "reschedule", "first", "--start", "2090-01-10T11:00")
    assert result.exit_code == 2
    assert snapshot(session) == before


def test_cancel_and_restore(runner: Any, session: Session) -> None:
    call = make_extra(session, "2090-01-10T10:00", "America/New_York")
    result = invoke(runner, "cancel", str(call.id), "--reason", " Snow storm ")
    assert result.exit_code == 0, result.output
    assert result.output == f"Call {call.id} on 2090-01-10T10:00-05:00 is cancelled.\n"
    session.expire_all()
    assert (call.status, call.cancel_reason) == ("cancelled", "Snow storm")

    before = snapshot(session)
    result = invoke(runner, "cancel", str(call.id))
    assert result.exit_code == 1
    assert "Error: status: This call is already cancelled." in result.output
    assert snapshot(session) == before

    result = invoke(runner, "restore", str(call.id))
    assert result.exit_code == 0, result.output
    assert result.output == f"Call {call.id} on 2090-01-10T10:00-05:00 is scheduled again.\n"
    session.expire_all()
    assert (call.status, call.cancel_reason) == ("scheduled", "")
    assert [change.action for change in call.changes] == ["created", "cancelled", "restored"]

    before = snapshot(session)
    result = invoke(runner, "restore", str(call.id))
    assert result.exit_code == 1
    assert "Error: status: This call is not cancelled." in result.output
    result = invoke(runner, "cancel", str(call.id), "--reason", "x" * 501)
    assert result.exit_code == 1
    assert "Error: reason: Keep the reason under 500 characters." in result.output
    for command in ("cancel", "restore"):
        result = invoke(runner, command, "999999")
        assert result.exit_code == 1
        assert "Error: No call with id 999999." in result.output
    assert snapshot(session) == before


# --- add-extra -------------------------------------------------------------------------------


def test_add_extra_call_on_its_own(runner: Any, session: Session) -> None:
    ensure_region(session, "europe", "Europe")
    session.commit()
    result = invoke(
        runner,
        "add-extra",
        "--title",
        "Brussels briefing",
        "--start",
        "2090-02-01T15:00",
        "--timezone",
        "Europe/Brussels",
        "--duration",
        "45",
        "--agenda",
        "EU budget.",
        "--join-url",
        "https://meet.example.org/brussels",
        "--registration-url",
        "https://example.org/brussels",
        "--region",
        "europe",
    )
    assert result.exit_code == 0, result.output
    session.expire_all()
    call = session.scalars(sa.select(Call)).one()
    assert result.output == (
        f"Added call {call.id}: Brussels briefing, 2090-02-01T15:00+01:00 (Europe/Brussels).\n"
    )
    assert call.start_at == dt.datetime(2090, 2, 1, 14, 0, tzinfo=dt.UTC)
    assert call.end_at == dt.datetime(2090, 2, 1, 14, 45, tzinfo=dt.UTC)
    assert (call.series_id, call.original_start_at, call.is_extra) == (None, None, True)
    assert call.agenda == "EU budget."
    assert call.effective_join_url == "https://meet.example.org/brussels"
    assert call.effective_registration_url == "https://example.org/brussels"
    assert call.region is not None and call.region.slug == "europe"


def test_add_extra_call_to_a_series(runner: Any, session: Session) -> None:
    series = make_series(session)
    result = invoke(runner, "add-extra", "--series", series.slug, "--start", "2090-02-01T10:00")
    assert result.exit_code == 0, result.output
    session.expire_all()
    call = session.scalars(sa.select(Call).where(Call.original_start_at.is_(None))).one()
    assert call.series_id == series.id
    # Title, zone and links come from the series.
    assert call.display_title == "Monthly call" and call.title is None
    assert call.timezone == "America/New_York"
    assert call.start_at == dt.datetime(2090, 2, 1, 15, 0, tzinfo=dt.UTC)
    assert call.effective_join_url == "https://meet.example.org/monthly"
    assert "Monthly call, 2090-02-01T10:00-05:00 (America/New_York)" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "UTC"], "title: An extra call needs a title."),
        (["--title", "T"], "timezone: Give --timezone, or --series for the series' zone."),
        (["--title", "T", "--timezone", "Mars/Olympus"], "timezone: 'Mars/Olympus' is not"),
        (["--title", "T", "--series", "nope"], "No series with slug 'nope'."),
        (["--title", "T", "--timezone", "UTC", "--duration", "0"], "duration: Give between"),
        (["--title", "T", "--timezone", "UTC", "--join-url", "meet"], "join-url: 'meet' is not"),
        (["--title", "T", "--timezone", "UTC", "--region", "mars"], "region: There is no region"),
    ],
)
def test_add_extra_refuses_bad_input(
    runner: Any, session: Session, args: list[str], message: str
) -> None:
    make_series(session)
    before = snapshot(session)
    result = invoke(runner, "add-extra", "--start", "2090-02-01T15:00", *args)
    assert result.exit_code == 1, result.output
    assert f"Error: {message}" in result.output
    assert snapshot(session) == before
    result = invoke(runner, "add-extra", "--title", "T", "--timezone", "UTC", "--start", "soon")
    assert result.exit_code == 1
    assert "Error: start: 'soon' is not a date and time such as 2026-12-08T10:00." in (
        result.output
    )
    assert snapshot(session) == before


# --- generate --------------------------------------------------------------------------------


def stored_starts(session: Session, series: Series) -> list[dt.datetime]:
    session.expire_all()
    return list(session.scalars(sa.select(Call.start_at).where(Call.series_id == series.id)))


def test_generate_extends_trims_and_updates(
    runner: Any, session: Session, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    series = make_series(session, rrule="FREQ=WEEKLY;BYDAY=MO")  # 12 months of Mondays
    stored = len(stored_starts(session, series))
    horizon = (utcnow() + relativedelta(months=24)).date()
    expected = len(list(series.timing.occurrences(until=horizon)))
    assert expected > 100 and 50 < stored < expected

    result = invoke(runner, "generate", "--horizon-months", "24")
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Calls created: {expected - stored}, removed: 0, updated: 0 (horizon 24 months).\n"
    )
    assert len(stored_starts(session, series)) == expected

    # Idempotent; the default horizon comes from the config.
    monkeypatch.setitem(app.config, "CALL_HORIZON_MONTHS", 3)
    result = invoke(runner, "generate")
    assert result.output == "Calls created: 0, removed: 0, updated: 0 (horizon 3 months).\n"

    # A closed series loses the calls after its end; a new duration reaches the others.
    ends_on = utcnow().date() + dt.timedelta(weeks=10)
    series.ends_on, series.duration_minutes = ends_on, 30
    session.commit()
    kept = len(list(series.timing.occurrences()))
    result = invoke(runner, "generate", "--horizon-months", "24")
    assert result.output == (
        f"Calls created: 0, removed: {expected - kept}, updated: {kept} (horizon 24 months).\n"
    )
    assert len(stored_starts(session, series)) == kept

    result = invoke(runner, "generate", "--horizon-months", "0")
    assert result.exit_code == 2


# --- flask demo ------------------------------------------------------------------------------


def test_demo_creates_the_demo_series_once(runner: Any, session: Session) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    series = services.find_series(session, "coalition-call")
    assert series is not None
    count = len(series.calls)
    assert f"Demo series: coalition-call ({count} calls" in result.output
    assert result.output.splitlines()[-1].startswith("Admin login: admin@example.org / ")
    assert (series.title, series.timezone, series.start_time) == (
        "Global coalition call",
        "America/New_York",
        dt.time(10, 0),
    )
    assert (series.rrule, series.duration_minutes) == ("FREQ=MONTHLY;BYDAY=2TU", 60)
    assert series.join_url == "https://meet.example.org/coalition"
    assert series.registration_url == "https://example.org/register"
    assert series.display_cities == DEFAULT_CITIES
    today = utcnow().date()
    six_months_ago = today - relativedelta(months=6)
    assert six_months_ago <= series.first_date < six_months_ago + dt.timedelta(days=31)

    now = utcnow()
    past = [call for call in series.calls if call.start_at < now]
    assert len(past) >= 5
    cancelled = [call for call in series.calls if call.is_cancelled]
    assert len(cancelled) == 1 and cancelled[0].start_at > now and cancelled[0].cancel_reason
    moved = [call for call in series.calls if call.is_rescheduled]
    assert len(moved) == 1 and moved[0].start_at > now
    assert moved[0].start_at.astimezone(NEW_YORK).time() == dt.time(11, 0)
    assert moved[0].end_at - moved[0].start_at == dt.timedelta(hours=1)
    extra = session.scalars(sa.select(Call).where(Call.series_id.is_(None))).one()
    assert (extra.title, extra.timezone) == ("Regional call: West Africa", "Africa/Lagos")
    lagos = extra.start_at.astimezone(ZoneInfo("Africa/Lagos"))
    assert (lagos.date(), lagos.time()) == (today + dt.timedelta(weeks=3), dt.time(14, 0))
    before = snapshot(session)

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert f"Demo series: coalition-call ({count} calls" in again.output
    assert session.scalar(sa.select(sa.func.count(Series.id))) == 1
    assert snapshot(session) == before
