"""Recurrence rules and their expansion on the series' wall clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.calls.recurrence import RuleError, Timing, parse_rule, to_instant

NEW_YORK = ZoneInfo("America/New_York")


def _second_tuesdays(year_from: int, year_to: int) -> list[dt.date]:
    days = []
    for year in range(year_from, year_to + 1):
        for month in range(1, 13):
            first = dt.date(year, month, 1)
            first_tuesday = first + dt.timedelta(days=(1 - first.weekday()) % 7)
            days.append(first_tuesday + dt.timedelta(days=7))
    return days


def test_ten_years_of_second_tuesdays_at_ten_new_york() -> None:
    timing = Timing(
        rule=parse_rule("FREQ=MONTHLY;BYDAY=2TU"),
        zone=NEW_YORK,
        first_date=dt.date(2018, 1, 1),
        start_time=dt.time(10, 0),
        duration=dt.timedelta(hours=1),
    )
    starts = [start for start, _ in timing.occurrences(until=dt.date(2027, 12, 31))]
    assert [s.astimezone(NEW_YORK).date() for s in starts] == _second_tuesdays(2018, 2027)
    for start in starts:
        local = start.astimezone(NEW_YORK)
        assert (local.hour, local.minute) == (10, 0)
        # UTC 14:00 while New York keeps summer time (2nd Sunday of March to 1st Sunday of
        # November), 15:00 otherwise: the offset switches on exactly those dates.
        year = local.year
        march = dt.date(year, 3, 1)
        dst_start = march + dt.timedelta(days=(6 - march.weekday()) % 7 + 7)
        november = dt.date(year, 11, 1)
        dst_end = november + dt.timedelta(days=(6 - november.weekday()) % 7)
        expected_utc_hour = 14 if dst_start <= local.date() < dst_end else 15
        assert start.hour == expected_utc_hour, local


@pytest.mark.parametrize(
    ("local", "expected_utc"),
    [
        # Spring forward in New York, 2026-03-08: 02:30 does not exist and becomes 03:30 EDT.
        (dt.datetime(2026, 3, 8, 2, 30), dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC)),
        # Fall back, 2026-11-01: 01:30 happens twice; the first (EDT) one is taken.
        (dt.datetime(2026, 11, 1, 1, 30), dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)),
    ],
)
def test_nonexistent_and_ambiguous_local_times(
    local: dt.datetime, expected_utc: dt.datetime
) -> None:
    assert to_instant(local, NEW_YORK) == expected_utc


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("FREQ=MONTHLY;BYDAY=2TU", "FREQ=MONTHLY;BYDAY=2TU"),
        ("rrule:freq=monthly;byday=-1fr", "FREQ=MONTHLY;BYDAY=-1FR"),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20271231T235959Z",
            "FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20271231",
        ),
        ("FREQ=WEEKLY;INTERVAL=1", "FREQ=WEEKLY"),
    ],
)
def test_rules_are_parsed_to_canonical_text(text: str, canonical: str) -> None:
    assert str(parse_rule(text)) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("FREQ=DAILY", "FREQ must be WEEKLY or MONTHLY"),
        ("FREQ=MONTHLY;BYDAY=2XX", "is not a day"),
        ("FREQ=WEEKLY;BYDAY=2TU", "needs FREQ=MONTHLY"),
        ("FREQ=MONTHLY;BYDAY=0TU", "must not be 0"),
        ("FREQ=MONTHLY;BYDAY=9TU", "between -5 and 5"),
        ("FREQ=MONTHLY;COUNT=3;UNTIL=20270101", "COUNT or UNTIL"),
        ("FREQ=MONTHLY;BYSETPOS=2", "BYSETPOS is not supported"),
        ("FREQ=MONTHLY;FREQ=WEEKLY", "given twice"),
        ("FREQ=MONTHLY;INTERVAL=x", "whole number"),
        ("FREQ=MONTHLY;UNTIL=tomorrow", "UNTIL must be a date"),
        ("FREQ", "NAME=VALUE"),
    ],
)
def test_invalid_rules_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rule(text)


def test_last_friday_and_counts() -> None:
    timing = Timing(
        rule=parse_rule("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3"),
        zone=ZoneInfo("Europe/Brussels"),
        first_date=dt.date(2026, 10, 1),
        start_time=dt.time(16, 0),
        duration=dt.timedelta(minutes=90),
    )
    occurrences = list(timing.occurrences())
    assert [start.astimezone(timing.zone).date() for start, _ in occurrences] == [
        dt.date(2026, 10, 30),
        dt.date(2026, 11, 27),
        dt.date(2026, 12, 25),
    ]
    assert all(end - start == dt.timedelta(minutes=90) for start, end in occurrences)


def test_count_with_a_horizon() -> None:
    timing = Timing(
        rule=parse_rule("FREQ=WEEKLY;BYDAY=TH;COUNT=5"),
        zone=NEW_YORK,
        first_date=dt.date(2026, 12, 1),
        start_time=dt.time(9, 0),
        duration=dt.timedelta(hours=1),
    )
    assert len(list(timing.occurrences(until=dt.date(2026, 12, 20)))) == 3
    assert len(list(timing.occurrences(until=dt.date(2027, 12, 31)))) == 5
