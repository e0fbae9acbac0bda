"""Reading JSON API query arguments: each bad value is a 400 whose message names it.

Messages are for the developers of API clients and name query parameters, so they are not
translated; the error's title is.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NoReturn

from flask import abort, request

MAX_OFFSET = 1_000_000
MAX_ID = 2**31 - 1  # beyond the integer primary keys (and SQLite's driver would overflow)

# In a query string an unencoded "+" arrives as a space: "10:00:00 01:00" meant "10:00:00+01:00".
_SPACE_FOR_PLUS = re.compile(r"^(.*\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?) (\d\d(?::?\d\d)?)$")
_INTEGER = re.compile(r"-?[0-9]{1,12}")


def bad(message: str) -> NoReturn:
    abort(400, message)


def text_arg(name: str) -> str | None:
    """The argument stripped, or None when absent or empty."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if "\x00" in value or len(value) > 200:
        bad(f"{name}: {value[:40]!r} is not a valid value.")
    return value


def parse_instant(value: str, name: str) -> dt.datetime:
    """An aware UTC instant from an ISO date (00:00 UTC) or datetime (naive means UTC)."""
    text = _SPACE_FOR_PLUS.sub(r"\1+\2", value.strip())
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        elif "T" in text.upper() or " " in text:
            moment = dt.datetime.fromisoformat(text)
        else:
            raise ValueError(text)
        if moment.tzinfo is None or moment.utcoffset() is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        bad(
            f"{name}: {value[:40]!r} is not a date such as 2026-12-01 "
            "or a date and time such as 2026-12-01T10:00:00-05:00."
        )


def instant_arg(name: str) -> dt.datetime | None:
    value = text_arg(name)
    return None if value is None else parse_instant(value, name)


def int_arg(name: str, default: int, low: int, high: int) -> int:
    value = text_arg(name)
    if value is None:
        return default
    if not _INTEGER.fullmatch(value):
        bad(f"{name}: {value[:40]!r} is not a whole number.")
    number = int(value)
    if not low <= number <= high:
        bad(f"{name}: give a number from {low} to {high}, not {number}.")
    return number
