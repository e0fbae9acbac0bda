"""The iCalendar serializer: plain feed data in, bytes out (no database, no request).

What every choice here is for is in docs/feeds.md; in short: one master VEVENT per series with
local times and a TZID, a VTIMEZONE in RRULE form per TZID, RECURRENCE-ID overrides for changed
calls, EXDATE or a STATUS:CANCELLED override for cancelled calls (the subscriber's choice), own
VEVENTs for extra calls, no calendar-level UID, and nothing that changes between two builds of the
same data (DTSTAMP is the record's last change, never "now").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vDuration, vRecur

from .timezones import vtimezone

PRODID = "-//Convene//Calendar feeds//EN"
REFRESH = dt.timedelta(hours=12)
CANCELLED_PREFIX = "Cancelled: "


@dataclasses.dataclass(frozen=True)
class Options:
    """What a subscriber chose in the feed's URL."""

    show_cancelled: bool = False  # False: cancelled calls become EXDATEs (or are left out)
    alarm_minutes: int | None = None  # a VALARM this many minutes before each call


@dataclasses.dataclass(frozen=True)
class Occurrence:
    """One call as its own VEVENT: an override of a series' occurrence or an extra call."""

    uid: str
    title: str
    start: dt.datetime  # aware, in the call's zone (a ZoneInfo)
    end: dt.datetime
    stamp: dt.datetime  # UTC: the call's last change
    sequence: int
    description: str = ""
    url: str = ""
    is_cancelled: bool = False
    recurrence_id: dt.datetime | None = None  # the original local start, in the series' zone


@dataclasses.dataclass(frozen=True)
class Master:
    """A series: its rule from its first call, and the exceptions within the feed's window."""

    uid: str
    title: str
    start: dt.datetime  # aware, the first call's local start in the series' zone
    end: dt.datetime
    rrule: str  # with UNTIL in UTC when the series has ended
    stamp: dt.datetime
    sequence: int
    description: str = ""
    url: str = ""
    exdates: tuple[dt.datetime, ...] = ()  # original local starts of calls that are not shown
    overrides: tuple[Occurrence, ...] = ()


@dataclasses.dataclass(frozen=True)
class Feed:
    name: str
    description: str = ""
    masters: tuple[Master, ...] = ()
    singles: tuple[Occurrence, ...] = ()


def _zones(feed: Feed) -> set[str]:
    moments: list[dt.datetime] = []
    for master in feed.masters:
        moments += [master.start, master.end, *master.exdates]
        for override in master.overrides:
            moments += [override.start, override.end]
            moments += [override.recurrence_id] if override.recurrence_id else []
    for single in feed.singles:
        moments += [single.start, single.end]
    return {moment.tzinfo.key for moment in moments if isinstance(moment.tzinfo, ZoneInfo)}


def _alarm(title: str, minutes: int) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    alarm.add("trigger", vDuration(-dt.timedelta(minutes=minutes)))
    return alarm


def _event(
    uid: str,
    title: str,
    start: dt.datetime,
    end: dt.datetime,
    stamp: dt.datetime,
    sequence: int,
    description: str,
    url: str,
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("last-modified", stamp.astimezone(dt.UTC))
    event.add("sequence", sequence)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", title)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
    return event


def _occurrence(occurrence: Occurrence, options: Options) -> Event:
    title = occurrence.title
    if occurrence.is_cancelled:
        title = CANCELLED_PREFIX + title
    event = _event(
        occurrence.uid,
        title,
        occurrence.start,
        occurrence.end,
        occurrence.stamp,
        occurrence.sequence,
        occurrence.description,
        occurrence.url,
    )
    if occurrence.recurrence_id is not None:
        event.add("recurrence-id", occurrence.recurrence_id)
    event.add("status", "CANCELLED" if occurrence.is_cancelled else "CONFIRMED")
    if options.alarm_minutes is not None and not occurrence.is_cancelled:
        event.add_component(_alarm(occurrence.title, options.alarm_minutes))
    return event


def _master(master: Master, options: Options) -> list[Event]:
    shown = [o for o in master.overrides if options.show_cancelled or not o.is_cancelled]
    hidden = [o.recurrence_id for o in master.overrides if o not in shown and o.recurrence_id]
    event = _event(
        master.uid,
        master.title,
        master.start,
        master.end,
        master.stamp,
        master.sequence,
        master.description,
        master.url,
    )
    event.add("rrule", vRecur.from_ical(master.rrule))
    # One EXDATE line per date: every client reads that; not all read a list in one line.
    for exdate in sorted({*master.exdates, *hidden}):
        event.add("exdate", exdate)
    event.add("status", "CONFIRMED")
    if options.alarm_minutes is not None:
        event.add_component(_alarm(master.title, options.alarm_minutes))
    overrides = sorted(shown, key=lambda o: o.recurrence_id or o.start)
    return [event, *(_occurrence(override, options) for override in overrides)]


def build(feed: Feed, options: Options) -> bytes:
    """The feed as iCalendar bytes; the same feed and options always give the same bytes."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", feed.name)
    calendar.add("x-wr-calname", feed.name)
    if feed.description:
        calendar.add("description", feed.description)
        calendar.add("x-wr-caldesc", feed.description)
    # icalendar writes REFRESH-INTERVAL without the VALUE=DURATION that RFC 7986 requires, and
    # a bare timedelta as "12:00:00" in an X- property: spell both out.
    calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    for key in sorted(_zones(feed)):
        calendar.add_component(vtimezone(key))
    for master in feed.masters:
        for event in _master(master, options):
            calendar.add_component(event)
    for single in feed.singles:
        if single.is_cancelled and not options.show_cancelled:
            continue
        calendar.add_component(_occurrence(single, options))
    return calendar.to_ical()
