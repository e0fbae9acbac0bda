"""Calendar months in the site's time zone: which month a note's publication falls in, where a
month starts and ends, and how a month's roll-up deliveries are named ("month:2026-11").

The digests (to leave out what a roll-up already carried) and the roll-up both need these, so
they live here rather than in either.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

ROLLUP_KIND = "rollup"
_SUBJECT = re.compile(r"month:(\d{4})-(\d{2})")


def site_zone() -> ZoneInfo:
    """The zone whose calendar the roll-up follows: the site's DEFAULT_TIMEZONE (UTC without an
    app, or if it names no zone)."""
    name = current_app.config.get("DEFAULT_TIMEZONE", "UTC") if has_app_context() else "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def month_of(instant: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The first day of the month `instant` falls in, in `zone`."""
    return instant.astimezone(zone).date().replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    return (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def bounds(month: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The instants the month starts and ends (exclusive) in `zone`."""

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)

    return midnight(month.replace(day=1)), midnight(next_month(month))


def month_subject(month: dt.date) -> str:
    return f"month:{month:%Y-%m}"


def parse_month(text: str) -> dt.date | None:
    """The month of "month:2026-11" (or of "2026-11"); None for anything else."""
    match = _SUBJECT.fullmatch(text if text.startswith("month:") else f"month:{text}")
    if match is None or not 1 <= int(match[2]) <= 12 or not 1970 <= int(match[1]) <= 9998:
        return None  # (years far off would overflow the instants of `bounds`)
    return dt.date(int(match[1]), int(match[2]), 1)
