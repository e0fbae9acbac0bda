"""Recurrence rules (the RFC 5545 subset Convene supports) and their expansion in a time zone.

A series' rule is expanded on the wall clock of the series' zone: "10:00 New York" stays 10:00
in New York across daylight-saving changes, and its UTC instant moves. Local times that do not
exist or are ambiguous on a DST change day are resolved as RFC 5545 (section 3.3.5) resolves them,
which is also what calendar clients do with our feeds:

- a time in the spring-forward gap is read with the offset before the gap, so 02:30 on the day
  clocks jump from 02:00 to 03:00 happens at 03:30;
- a time repeated when clocks fall back is its first occurrence (the daylight-time one).

zoneinfo's `fold=0` gives exactly these two results.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as du

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = {"WEEKLY": du.WEEKLY, "MONTHLY": du.MONTHLY}
SUPPORTED_PARTS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL", "WKST")
MAX_OCCURRENCES = 5000


class RuleError(ValueError):
    """An invalid recurrence rule or series timing; `field` names the input at fault."""

    def __init__(self, message: str, field: str = "rrule") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ByDay:
    weekday: int  # 0 = Monday
    ordinal: int | None = None  # 2 = second, -1 = last; None = every

    def __str__(self) -> str:
        return f"{self.ordinal or ''}{WEEKDAYS[self.weekday]}"


@dataclass(frozen=True)
class Rule:
    """A parsed RRULE. `str(rule)` is its canonical text, without DTSTART."""

    freq: str
    interval: int = 1
    byday: tuple[ByDay, ...] = ()
    bymonthday: tuple[int, ...] = ()
    count: int | None = None
    until: dt.date | None = None
    wkst: int | None = None

    def __str__(self) -> str:
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            parts.append("BYDAY=" + ",".join(str(day) for day in self.byday))
        if self.bymonthday:
            parts.append("BYMONTHDAY=" + ",".join(str(day) for day in self.bymonthday))
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}")
        if self.wkst is not None:
            parts.append(f"WKST={WEEKDAYS[self.wkst]}")
        return ";".join(parts)

    def with_until(self, until: dt.date | None) -> Rule:
        return dataclasses.replace(self, count=None, until=until)


def _int(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise RuleError(f"{name} must be a whole number, not {value!r}.") from None
    if not low <= number <= high:
        raise RuleError(f"{name} must be between {low} and {high}, not {number}.")
    return number


def _byday(value: str, freq: str) -> tuple[ByDay, ...]:
    days = []
    for item in value.split(","):
        item = item.strip().upper()
        weekday = item[-2:]
        if weekday not in WEEKDAYS:
            raise RuleError(f"BYDAY: {item!r} is not a day (use MO, TU, WE, TH, FR, SA or SU).")
        ordinal = None
        if item[:-2]:
            if freq != "MONTHLY":
                raise RuleError(f"BYDAY: an ordinal such as {item!r} needs FREQ=MONTHLY.")
            ordinal = _int("BYDAY ordinal", item[:-2].lstrip("+"), -5, 5)
            if ordinal == 0:
                raise RuleError("BYDAY ordinal must not be 0 (use 1 to 5, or -1 for the last).")
        days.append(ByDay(WEEKDAYS.index(weekday), ordinal))
    return tuple(days)


def _until(value: str) -> dt.date:
    text = value.strip().upper().rstrip("Z")
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        raise RuleError(f"UNTIL must be a date such as 20271231, not {value!r}.") from None


def parse_rule(text: str) -> Rule:
    """Parse and check an RRULE ("FREQ=MONTHLY;BYDAY=2TU"); RuleError says what is wrong."""
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text:
        raise RuleError("The recurrence rule is empty: give one such as FREQ=MONTHLY;BYDAY=2TU.")
    parts: dict[str, str] = {}
    for chunk in text.split(";"):
        name, sep, value = chunk.partition("=")
        name = name.strip().upper()
        if not sep or not value.strip():
            raise RuleError(f"{chunk!r} is not of the form NAME=VALUE.")
        if name not in SUPPORTED_PARTS:
            raise RuleError(f"{name} is not supported (use {', '.join(SUPPORTED_PARTS)}).")
        if name in parts:
            raise RuleError(f"{name} is given twice.")
        parts[name] = value.strip()
    freq = parts.get("FREQ", "").upper()
    if freq not in FREQUENCIES:
        raise RuleError("FREQ must be WEEKLY or MONTHLY.")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("Give COUNT or UNTIL, not both.")
    byday = _byday(parts["BYDAY"], freq) if "BYDAY" in parts else ()
    bymonthday: tuple[int, ...] = ()
    if "BYMONTHDAY" in parts:
        if freq != "MONTHLY":
            raise RuleError("BYMONTHDAY needs FREQ=MONTHLY.")
        bymonthday = tuple(
            _int("BYMONTHDAY", day, -31, 31) for day in parts["BYMONTHDAY"].split(",")
        )
        if 0 in bymonthday:
            raise RuleError("BYMONTHDAY must not be 0.")
    wkst = parts.get("WKST", "").upper()
    if wkst and wkst not in WEEKDAYS:
        raise RuleError(f"WKST must be a day (MO ... SU), not {wkst!r}.")
    return Rule(
        freq=freq,
        interval=_int("INTERVAL", parts.get("INTERVAL", "1"), 1, 99),
        byday=byday,
        bymonthday=bymonthday,
        count=_int("COUNT", parts["COUNT"], 1, MAX_OCCURRENCES) if "COUNT" in parts else None,
        until=_until(parts["UNTIL"]) if "UNTIL" in parts else None,
        wkst=WEEKDAYS.index(wkst) if wkst else None,
    )


def get_zone(name: str, field: str = "timezone") -> ZoneInfo:
    """The IANA zone `name`, or RuleError naming `field`."""
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError(
            f"{name!r} is not a known time zone (use an IANA name such as America/New_York).",
            field,
        ) from None


def to_instant(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of wall-clock `local` in `zone`, with RFC 5545's gap and overlap rules."""
    return local.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)


@dataclass(frozen=True)
class Timing:
    """When a series' calls happen: a rule, from a first date, at a local time, in a zone."""

    rule: Rule
    zone: ZoneInfo
    first_date: dt.date
    start_time: dt.time
    duration: dt.timedelta
    ends_on: dt.date | None = None  # inclusive; set when the series was closed

    def local_starts(self, until: dt.date | None = None) -> Iterator[dt.datetime]:
        """Wall-clock starts (naive, in the zone) up to `until` (inclusive) and the series' end."""
        last = min(d for d in (until, self.ends_on, self.rule.until, dt.date.max) if d)
        starts = du.rrule(
            FREQUENCIES[self.rule.freq],
            dtstart=dt.datetime.combine(self.first_date, self.start_time),
            interval=self.rule.interval,
            byweekday=[du.weekday(d.weekday, d.ordinal) for d in self.rule.byday] or None,
            bymonthday=self.rule.bymonthday or None,
            count=self.rule.count,
            # dateutil refuses COUNT and UNTIL together: with COUNT, stop the loop instead.
            until=None
            if self.rule.count or last == dt.date.max
            else dt.datetime.combine(last, dt.time.max),
            wkst=self.rule.wkst,
            cache=False,
        )
        for start in starts:
            if start.date() > last:
                return
            yield start

    def occurrences(
        self, start: dt.date | None = None, until: dt.date | None = None
    ) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """(start, end) UTC instants of the calls whose local date is within [start, until]."""
        for local in self.local_starts(until):
            if start and local.date() < start:
                continue
            begin = to_instant(local, self.zone)
            yield begin, begin + self.duration

    def check(self) -> None:
        """Raise RuleError if the timing yields no occurrence at all."""
        if next(self.local_starts(), None) is None:
            raise RuleError(
                "This rule yields no calls from the first date on: check BYDAY, COUNT and UNTIL.",
                "rrule",
            )
