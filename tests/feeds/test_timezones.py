"""VTIMEZONEs in RRULE form agree with zoneinfo for every zone over many years."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from app.feeds.timezones import parse_posix, vtimezone, zone_rule


def one_zone_per_rule() -> list[str]:
    """A zone for each distinct current rule (zones with the same rule get the same VTIMEZONE
    apart from the TZID)."""
    keys: dict[object, str] = {}
    for key in sorted(zoneinfo.available_timezones()):
        keys.setdefault(zone_rule(key), key)
    return sorted(keys.values())


def test_every_zone_has_a_vtimezone() -> None:
    for key in zoneinfo.available_timezones():
        assert vtimezone(key)["TZID"] == key


def test_new_york_has_one_standard_and_one_daylight_rule() -> None:
    text = vtimezone("America/New_York").to_ical().decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11" in text
    assert "RDATE" not in text
    assert text.count("BEGIN:STANDARD") == 1 and text.count("BEGIN:DAYLIGHT") == 1


def test_last_sunday_and_zone_without_dst() -> None:
    assert "BYDAY=-1SU;BYMONTH=10" in vtimezone("Europe/Brussels").to_ical().decode()
    jakarta = vtimezone("Asia/Jakarta").to_ical().decode()
    assert jakarta.count("BEGIN:STANDARD") == 1 and "DAYLIGHT" not in jakarta
    assert "TZOFFSETTO:+0700" in jakarta and "RRULE" not in jakarta


def test_posix_rules() -> None:
    israel = parse_posix("IST-2IDT,M3.4.4/26,M10.5.0")
    assert israel.dst_start is not None
    assert israel.dst_start.rrule().to_ical() == (
        b"FREQ=YEARLY;BYDAY=FR;BYMONTHDAY=23,24,25,26,27,28,29;BYMONTH=3"
    )
    dublin = parse_posix("IST-1GMT0,M10.5.0,M3.5.0/1")
    assert dublin.std_offset == dt.timedelta(hours=1)
    assert dublin.dst_offset == dt.timedelta(0)


@pytest.mark.parametrize("key", one_zone_per_rule())
def test_every_zone_matches_zoneinfo(key: str) -> None:
    """icalendar's own reading of our VTIMEZONE gives zoneinfo's local time at every sampled
    instant from 2026 to 2040 (samples every 7 h 11 min, and around each of zoneinfo's changes)."""
    zone = zoneinfo.ZoneInfo(key)
    ours = vtimezone(key).to_tz()
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(hours=7, minutes=11)
    previous = moment.astimezone(zone).utcoffset()
    while moment.year < 2041:
        offset = moment.astimezone(zone).utcoffset()
        checks = [moment]
        if offset != previous:  # zoneinfo changed offset in the last step: check around it
            checks += [moment - step + dt.timedelta(minutes=m) for m in range(0, 431, 30)]
        for check in checks:
            expected = check.astimezone(zone).replace(tzinfo=None)
            assert check.astimezone(ours).replace(tzinfo=None) == expected, (key, check)
        previous = offset
        moment += step
