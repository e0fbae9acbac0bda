"""VTIMEZONE components in RRULE form, derived from a zone's current rules.

icalendar's `add_missing_timezones()` lists every transition as comma-separated RDATEs: Mozilla
ical.js (inside Thunderbird) reads only the first value and Outlook ignores RDATE in a VTIMEZONE,
so summer calls end up an hour off. Instead we read the rule every TZif file ends with (a POSIX
TZ string such as `EST5EDT,M3.2.0,M11.1.0`: the rule in force after the last listed transition,
which is what governs the past year and the future in the tz database) and write it as one
STANDARD and one DAYLIGHT observance with a yearly RRULE. A zone without daylight saving time
gets a single STANDARD observance.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import functools
import re
import zoneinfo
from importlib import resources

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

WEEKDAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # POSIX numbers days from Sunday = 0
EPOCH_YEAR = 1970


class ZoneRuleError(ValueError):
    """A zone whose rule this module cannot express as a yearly RRULE."""


@dataclasses.dataclass(frozen=True)
class Transition:
    """POSIX `Mm.w.d/time`: day d (0 = Sunday) of week w (5 = last) of month m, at local time."""

    month: int
    week: int
    weekday: int
    seconds: int  # local time of the change, in the offset before it; may be < 0 or >= 24 h

    def rrule(self) -> vRecur:
        """The yearly rule: BYDAY ordinals when the change is on the named day, otherwise (a
        time past midnight, such as Israel's Thursday 26:00) the weekday within a 7-day span."""
        days, _ = divmod(self.seconds, 86400)
        if days == 0:
            ordinal = -1 if self.week == 5 else self.week
            return vRecur(
                {
                    "FREQ": "YEARLY",
                    "BYMONTH": self.month,
                    "BYDAY": f"{ordinal}{WEEKDAYS[self.weekday]}",
                }
            )
        # Feb's length varies; the zones with such rules change in other months.
        length = calendar.monthrange(2001, self.month)[1]
        first = length - 6 if self.week == 5 else (self.week - 1) * 7 + 1
        span = [first + days + offset for offset in range(7)]
        if span[0] < 1 or span[-1] > length:
            raise ZoneRuleError(f"a change at {self} leaves its month")
        weekday = WEEKDAYS[(self.weekday + days) % 7]
        return vRecur(
            {"FREQ": "YEARLY", "BYMONTH": self.month, "BYDAY": weekday, "BYMONTHDAY": span}
        )

    def expressible(self) -> Transition:
        """This change, or one a second earlier when "24:00" would fall in the next month
        (Africa/Cairo: last Thursday of October at 24:00, which may be 1 November)."""
        try:
            self.rrule()
        except ZoneRuleError:
            if self.seconds != 86400:
                raise
            return dataclasses.replace(self, seconds=86399)
        return self

    def first_local(self, year: int) -> dt.datetime:
        """The wall-clock time of the change in `year`."""
        length = calendar.monthrange(year, self.month)[1]
        first_weekday = (calendar.weekday(year, self.month, 1) + 1) % 7  # Sunday = 0
        day = 1 + (self.weekday - first_weekday) % 7 + (self.week - 1) * 7
        while day > length:
            day -= 7
        return dt.datetime(year, self.month, day) + dt.timedelta(seconds=self.seconds)


@dataclasses.dataclass(frozen=True)
class ZoneRule:
    std_name: str
    std_offset: dt.timedelta  # east of UTC, as in iCalendar (POSIX counts west)
    dst_name: str | None = None
    dst_offset: dt.timedelta | None = None
    dst_start: Transition | None = None
    dst_end: Transition | None = None


_NAME = r"(<[^>]+>|[A-Za-z]{3,})"
_OFFSET = r"([+-]?\d{1,3}(?::\d{2}(?::\d{2})?)?)"
_RULE = r"M(\d{1,2})\.(\d)\.(\d)(?:/" + _OFFSET + ")?"
_TZ = re.compile(rf"^{_NAME}{_OFFSET}(?:{_NAME}{_OFFSET}?(?:,{_RULE},{_RULE})?)?$")


def _seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(part) for part in text.lstrip("+-").split(":")]
    parts += [0] * (3 - len(parts))
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def parse_posix(text: str) -> ZoneRule:
    """A POSIX TZ string (`CET-1CEST,M3.5.0,M10.5.0/3`) as a ZoneRule."""
    match = _TZ.match(text)
    if not match:
        raise ZoneRuleError(f"unsupported TZ rule {text!r}")
    std, std_off, dst, dst_off, m1, w1, d1, t1, m2, w2, d2, t2 = match.groups()
    std_offset = dt.timedelta(seconds=-_seconds(std_off))
    if not dst:
        return ZoneRule(std.strip("<>"), std_offset)
    if m1 is None:
        raise ZoneRuleError(f"TZ rule {text!r} has daylight time but no dates")
    dst_offset = (
        dt.timedelta(seconds=-_seconds(dst_off)) if dst_off else std_offset + dt.timedelta(hours=1)
    )
    return ZoneRule(
        std.strip("<>"),
        std_offset,
        dst.strip("<>"),
        dst_offset,
        Transition(int(m1), int(w1), int(d1), _seconds(t1) if t1 else 7200),
        Transition(int(m2), int(w2), int(d2), _seconds(t2) if t2 else 7200),
    )


def _tzif_bytes(key: str) -> bytes:
    """The TZif file zoneinfo itself would load for `key` (TZPATH first, then tzdata)."""
    for root in zoneinfo.TZPATH:
        try:
            with open(f"{root}/{key}", "rb") as handle:
                return handle.read()
        except OSError:
            continue
    package, _, name = f"tzdata.zoneinfo.{key.replace('/', '.')}".rpartition(".")
    return resources.files(package).joinpath(name).read_bytes()


@functools.cache
def zone_rule(key: str) -> ZoneRule:
    """The current rule of IANA zone `key`, from the footer of its TZif file."""
    zoneinfo.ZoneInfo(key)  # refuse unknown keys the way the rest of the app does
    data = _tzif_bytes(key)
    if not data.startswith(b"TZif") or data[4:5] < b"2":
        raise ZoneRuleError(f"{key}: no version 2+ TZif data")
    footer = data.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii")
    return parse_posix(footer)


def _observance(
    kind: type[TimezoneStandard] | type[TimezoneDaylight],
    name: str,
    offset_from: dt.timedelta,
    offset_to: dt.timedelta,
    change: Transition | None,
) -> TimezoneStandard | TimezoneDaylight:
    observance = kind()
    change = change.expressible() if change else None
    start = change.first_local(EPOCH_YEAR) if change else dt.datetime(EPOCH_YEAR, 1, 1)
    observance.add("dtstart", start)
    observance.add("tzoffsetfrom", offset_from)
    observance.add("tzoffsetto", offset_to)
    observance.add("tzname", name)
    if change:
        observance.add("rrule", change.rrule())
    return observance


@functools.cache
def vtimezone(key: str) -> Timezone:
    """A VTIMEZONE for `key` with TZID `key`, in RRULE form. Callers must not change it."""
    rule = zone_rule(key)
    component = Timezone()
    component.add("tzid", key)
    if rule.dst_offset is None or rule.dst_start is None or rule.dst_end is None:
        component.add_component(
            _observance(TimezoneStandard, rule.std_name, rule.std_offset, rule.std_offset, None)
        )
        return component
    # RFC 5545 calls the observance with the larger offset DAYLIGHT, whatever POSIX calls std
    # (Europe/Dublin's "standard" time is its summer time).
    to_dst = (rule.dst_name or "", rule.std_offset, rule.dst_offset, rule.dst_start)
    to_std = (rule.std_name, rule.dst_offset, rule.std_offset, rule.dst_end)
    summer, winter = (to_dst, to_std) if rule.dst_offset > rule.std_offset else (to_std, to_dst)
    component.add_component(_observance(TimezoneStandard, *winter))
    component.add_component(_observance(TimezoneDaylight, *summer))
    return component
