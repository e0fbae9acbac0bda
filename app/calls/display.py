"""A call's time: in each display city, in the viewer's zone, and as a one-line announcement.

Everything is computed from the call's UTC instant with zoneinfo, so a November call never shows
summer-time figures: the offset of each city is the one in force at that instant.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, get_day_names, get_timezone_location
from flask_babel import force_locale, gettext, ngettext

from .recurrence import ByDay, Rule

NARROW_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


def _plain(text: str) -> str:
    """Babel's narrow no-break spaces make copied text look broken in some mail clients."""
    return text.translate(NARROW_SPACES)


@dataclasses.dataclass(frozen=True)
class CityTime:
    label: str
    zone: str
    local: dt.datetime
    time_text: str
    weekday_text: str
    day_shift: int  # local date minus the call's date in its own zone: -1, 0 or +1
    offset_hours: float  # ahead (+) or behind (-) the call's zone at that instant
    usual_offset_hours: float  # the same difference as it is most of the year

    @property
    def is_unusual(self) -> bool:
        return self.offset_hours != self.usual_offset_hours

    @property
    def day_mark(self) -> str:
        if self.day_shift > 0:
            return gettext("+%(days)d day", days=self.day_shift)
        if self.day_shift < 0:
            return gettext("%(days)d day", days=self.day_shift)
        return ""


def _offset_hours(moment: dt.datetime, zone: ZoneInfo, home: ZoneInfo) -> float:
    delta = moment.astimezone(zone).utcoffset() - moment.astimezone(home).utcoffset()  # type: ignore[operator]
    return delta.total_seconds() / 3600


def usual_offset(moment: dt.datetime, zone: ZoneInfo, home: ZoneInfo) -> float:
    """The difference between the zones as it usually is around `moment`.

    A difference that is not the same five weeks before nor five weeks after is the short-lived
    kind (US and EU clocks change on different dates): the usual one is then the one after. A
    seasonal change (a city without DST in winter) lasts months and is not flagged.
    """
    current = _offset_hours(moment, zone, home)
    before = _offset_hours(moment - dt.timedelta(weeks=5), zone, home)
    after = _offset_hours(moment + dt.timedelta(weeks=5), zone, home)
    return after if current not in (before, after) else current


def city_times(
    start: dt.datetime, home_zone: str, cities: list[dict[str, str]], locale: str
) -> list[CityTime]:
    """The call's start in each city, with weekday, day shift and offset notes."""
    home = ZoneInfo(home_zone)
    home_date = start.astimezone(home).date()
    result = []
    for city in cities:
        zone = ZoneInfo(city["zone"])
        local = start.astimezone(zone)
        result.append(
            CityTime(
                label=city["label"],
                zone=city["zone"],
                local=local,
                time_text=_plain(format_time(local, "short", locale=locale)),
                weekday_text=format_date(local, "EEEE", locale=locale),
                day_shift=(local.date() - home_date).days,
                offset_hours=_offset_hours(start, zone, home),
                usual_offset_hours=usual_offset(start, zone, home),
            )
        )
    return result


def _hours_text(hours: float) -> str:
    whole = abs(hours)
    text = f"{whole:g}"
    count = int(whole) if whole == int(whole) else 2
    return ngettext("%(hours)s hour", "%(hours)s hours", count, hours=text)


def offset_notices(times: list[CityTime], home_label: str) -> list[str]:
    """Sentences for cities whose difference from the call's zone is not the usual one this week."""
    notices = []
    for city in times:
        if not city.is_unusual:
            continue
        if city.offset_hours >= 0:
            now = gettext("%(hours)s ahead of", hours=_hours_text(city.offset_hours))
        else:
            now = gettext("%(hours)s behind", hours=_hours_text(city.offset_hours))
        notices.append(
            gettext(
                "This week %(city)s is %(now)s %(home)s, not the usual %(usual)s: "
                "clocks change on different dates there.",
                city=city.label,
                now=now,
                home=home_label,
                usual=_hours_text(city.usual_offset_hours),
            )
        )
    return notices


def announcement(
    start: dt.datetime, home_zone: str, cities: list[dict[str, str]], locale: str
) -> str:
    """ "Tuesday 13 November, 10:00 AM New York // 4:00 PM Brussels // ...", in `locale`."""
    with force_locale(locale):
        times = city_times(start, home_zone, cities, locale)
        day = format_date(start.astimezone(ZoneInfo(home_zone)), "EEEE d MMMM", locale=locale)
        parts = []
        for city in times:
            text = f"{city.time_text} {city.label}"
            if city.day_shift:
                text += f" ({city.weekday_text})"
            parts.append(text)
        return _plain(f"{day}, " + " // ".join(parts))


def zone_city(zone: str, locale: str) -> str:
    """The city that names a zone, in `locale` ("America/New_York" -> "New York")."""
    try:
        return get_timezone_location(zone, locale=locale, return_city=True)
    except LookupError:
        return zone


def _ordinal(number: int) -> str:
    words = {
        1: gettext("first"),
        2: gettext("second"),
        3: gettext("third"),
        4: gettext("fourth"),
        5: gettext("fifth"),
        -1: gettext("last"),
        -2: gettext("second-to-last"),
    }
    return words.get(number, str(number))


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return gettext("%(items)s and %(last)s", items=", ".join(items[:-1]), last=items[-1])


def rule_summary(
    rule: Rule, start_time: dt.time, zone: str, locale: str, first_date: dt.date | None = None
) -> str:
    """ "Monthly on the second Tuesday at 10:00 New York time", in `locale`."""
    if first_date and not rule.byday and not rule.bymonthday:
        # Without BYDAY or BYMONTHDAY the rule repeats the first date's weekday or day of month.
        if rule.freq == "WEEKLY":
            rule = dataclasses.replace(rule, byday=(ByDay(first_date.weekday()),))
        else:
            rule = dataclasses.replace(rule, bymonthday=(first_date.day,))
    with force_locale(locale):
        day_names = get_day_names("wide", locale=Locale.parse(locale))
        days = []
        for day in rule.byday:
            name = day_names[day.weekday]
            if day.ordinal:
                days.append(
                    gettext("the %(ordinal)s %(day)s", ordinal=_ordinal(day.ordinal), day=name)
                )
            else:
                days.append(name)
        days += [gettext("day %(number)d", number=number) for number in rule.bymonthday]
        if rule.freq == "WEEKLY":
            often = (
                gettext("Weekly")
                if rule.interval == 1
                else gettext("Every %(n)d weeks", n=rule.interval)
            )
        else:
            often = (
                gettext("Monthly")
                if rule.interval == 1
                else gettext("Every %(n)d months", n=rule.interval)
            )
        text = often
        if days:
            text = gettext("%(often)s on %(days)s", often=often, days=_join(days))
        text = gettext(
            "%(when)s at %(time)s %(city)s time",
            when=text,
            time=start_time.strftime("%H:%M"),
            city=zone_city(zone, locale),
        )
        if rule.count:
            text += ngettext(", %(num)d time", ", %(num)d times", rule.count)
        if rule.until:
            text += gettext(", until %(date)s", date=format_date(rule.until, "long", locale=locale))
        return text
