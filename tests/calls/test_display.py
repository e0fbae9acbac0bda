"""Times in every city, announcements and offset notices, across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from flask import Flask

from app import create_app
from app.calls.display import announcement, city_times, offset_notices, rule_summary
from app.calls.models import DEFAULT_CITIES
from app.calls.recurrence import parse_rule

NEW_YORK = "America/New_York"


@pytest.fixture(scope="module")
def context() -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": "sqlite://", "LANGUAGES": ("en", "fr")})
    with app.test_request_context():
        yield app


def at_ten_new_york(day: dt.date) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(10), ZoneInfo(NEW_YORK)).astimezone(dt.UTC)


@pytest.mark.usefixtures("context")
@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (
            dt.date(2018, 11, 13),
            "Tuesday 13 November, 10:00 AM New York // 4:00 PM Brussels // 5:00 PM Cairo"
            " // 6:00 PM Addis Ababa // 10:00 PM Jakarta",
        ),
        (
            # US clocks changed on 8 March 2020, EU clocks only on 29 March: Brussels is 3 PM.
            dt.date(2020, 3, 10),
            "Tuesday 10 March, 10:00 AM New York // 3:00 PM Brussels // 4:00 PM Cairo"
            " // 5:00 PM Addis Ababa // 9:00 PM Jakarta",
        ),
    ],
)
def test_announcement_in_every_default_city(day: dt.date, expected: str) -> None:
    assert announcement(at_ten_new_york(day), NEW_YORK, DEFAULT_CITIES, "en") == expected


@pytest.mark.usefixtures("context")
def test_announcement_in_french() -> None:
    text = announcement(at_ten_new_york(dt.date(2018, 11, 13)), NEW_YORK, DEFAULT_CITIES, "fr")
    assert text.startswith("mardi 13 novembre, 10:00 New York // 16:00 Brussels")


@pytest.mark.usefixtures("context")
def test_next_day_is_marked() -> None:
    cities = [
        {"label": "Tokyo", "zone": "Asia/Tokyo"},
        {"label": "Honolulu", "zone": "Pacific/Honolulu"},
    ]
    late = dt.datetime(2026, 12, 8, 23, 0, tzinfo=dt.UTC)  # 18:00 in New York
    tokyo, honolulu = city_times(late, NEW_YORK, cities, "en")
    assert (tokyo.day_shift, tokyo.weekday_text, tokyo.day_mark) == (1, "Wednesday", "+1 day")
    assert honolulu.day_shift == 0
    text = announcement(late, NEW_YORK, cities, "en")
    assert "8:00 AM Tokyo (Wednesday)" in text


@pytest.mark.usefixtures("context")
def test_notice_only_in_the_weeks_clocks_disagree() -> None:
    march_gap = city_times(at_ten_new_york(dt.date(2020, 3, 10)), NEW_YORK, DEFAULT_CITIES, "en")
    notices = offset_notices(march_gap, "New York")
    assert notices == [
        "This week Brussels is 5 hours ahead of New York, not the usual 6 hours: "
        "clocks change on different dates there."
    ]
    november = city_times(at_ten_new_york(dt.date(2018, 11, 13)), NEW_YORK, DEFAULT_CITIES, "en")
    assert offset_notices(november, "New York") == []  # winter time on both sides
    october_gap = at_ten_new_york(dt.date(2026, 10, 27))  # EU changed on 25 October, US on 1 Nov
    brussels = city_times(october_gap, NEW_YORK, DEFAULT_CITIES[:2], "en")[1]
    assert (brussels.offset_hours, brussels.usual_offset_hours) == (5, 6)


@pytest.mark.usefixtures("context")
@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=MONTHLY;BYDAY=2TU", "Monthly on the second Tuesday at 10:00 New York time"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "Monthly on the last Friday at 10:00 New York time"),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10",
            "Every 2 weeks on Monday and Thursday at 10:00 New York time, 10 times",
        ),
        ("FREQ=WEEKLY", "Weekly on Tuesday at 10:00 New York time"),
        (
            "FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20271231",
            "Monthly on day 15 at 10:00 New York time, until December 31, 2027",
        ),
    ],
)
def test_rule_summaries(rule: str, expected: str) -> None:
    summary = rule_summary(parse_rule(rule), dt.time(10), NEW_YORK, "en", dt.date(2026, 12, 8))
    assert summary == expected
