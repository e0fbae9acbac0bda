"""JSON API for calls: GET /api/calls and GET /api/calls/<id>.

Thin: parse and check the query, ask the services, serialize. Bad input is a 400 whose message
names the parameter at fault; a call that does not exist or is not public is a 404.

Instants are given twice: in the call's own zone with its offset at that instant ("start") and in
UTC ("start_utc", with a Z). Messages in errors are for the developers of API clients and name
query parameters, so they are not translated; the error's title is.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask_babel import get_locale

from app.db import db, utcnow
from app.taxonomy.services import find_region

from . import display, services
from .models import Call, CallStatus

bp = Blueprint("calls_api", __name__, url_prefix="/api")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
MAX_ID = 2**31 - 1  # beyond the integer primary keys (and SQLite's driver would overflow)
STATUSES = tuple(status.value for status in CallStatus)

# In a query string an unencoded "+" arrives as a space: "10:00:00 01:00" meant "10:00:00+01:00".
_SPACE_FOR_PLUS = re.compile(r"^(.*\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?) (\d\d(?::?\d\d)?)$")
_INTEGER = re.compile(r"-?[0-9]{1,12}")


# --- query arguments -------------------------------------------------------------------------


def _bad(message: str) -> NoReturn:
    abort(400, message)


def _text_arg(name: str) -> str | None:
    """The argument stripped, or None when absent or empty."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if "\x00" in value or len(value) > 200:
        _bad(f"{name}: {value[:40]!r} is not a valid value.")
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
        _bad(
            f"{name}: {value[:40]!r} is not a date such as 2026-12-01 "
            "or a date and time such as 2026-12-01T10:00:00-05:00."
        )


def _instant_arg(name: str) -> dt.datetime | None:
    value = _text_arg(name)
    return None if value is None else parse_instant(value, name)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    value = _text_arg(name)
    if value is None:
        return default
    if not _INTEGER.fullmatch(value):
        _bad(f"{name}: {value[:40]!r} is not a whole number.")
    number = int(value)
    if not low <= number <= high:
        _bad(f"{name}: give a number from {low} to {high}, not {number}.")
    return number


# --- serialization ---------------------------------------------------------------------------


def _local(moment: dt.datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).isoformat()


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _locale() -> str:
    return str(get_locale() or current_app.config.get("BABEL_DEFAULT_LOCALE", "en"))


def _city_time(city: display.CityTime) -> dict[str, Any]:
    text = f"{city.weekday_text} {city.time_text}"
    if city.day_shift:
        text += f" ({city.day_mark})"
    return {
        "label": city.label,
        "zone": city.zone,
        "local": city.local.isoformat(),
        "text": text,
        "day_shift": city.day_shift,
        "offset_hours": city.offset_hours,
        "usual_offset_hours": city.usual_offset_hours,
    }


def call_json(call: Call, locale: str) -> dict[str, Any]:
    """The API's view of a call."""
    series, region = call.series, call.region
    cities = call.cities
    return {
        "id": call.id,
        "series": series.slug if series else None,
        "series_title": series.title if series else None,
        "title": call.display_title,
        "status": call.status,
        "cancel_reason": call.cancel_reason,
        "start": _local(call.start_at, call.timezone),
        "end": _local(call.end_at, call.timezone),
        "start_utc": _utc(call.start_at),
        "end_utc": _utc(call.end_at),
        "timezone": call.timezone,
        "original_start": (
            _local(call.original_start_at, call.timezone) if call.original_start_at else None
        ),
        "is_rescheduled": call.is_rescheduled,
        "is_extra": call.is_extra,
        "sequence": call.sequence,
        "agenda": call.agenda,
        "links": {
            "join": call.effective_join_url,
            "registration": call.effective_registration_url,
            "recording": call.recording_url,
        },
        "region": region.slug if region else None,
        "url": f"{current_app.config['BASE_URL']}/calls/{call.id}",
        "announcement": display.announcement(call.start_at, call.timezone, cities, locale),
        "times": [
            _city_time(city)
            for city in display.city_times(call.start_at, call.timezone, cities, locale)
        ],
    }


# --- endpoints -------------------------------------------------------------------------------


@bp.get("/calls")
def list_calls() -> Response:
    """Public calls, soonest first; by default those that have not ended yet."""
    session = db.session
    filters: dict[str, Any] = {}

    slug = _text_arg("series")
    if slug is not None:
        series = services.find_series(session, slug)
        if series is None or not series.is_public:
            _bad(f"series: no series {slug!r}.")
        filters["series"] = series

    region_slug = _text_arg("region")
    if region_slug is not None:
        region = find_region(session, region_slug)
        if region is None:
            _bad(f"region: no region {region_slug!r}.")
        filters["region"] = region

    status = _text_arg("status")
    if status is not None and status not in STATUSES:
        _bad(f"status: {status[:40]!r} is not one of {', '.join(STATUSES)}.")

    start, end = _instant_arg("from"), _instant_arg("to")
    if start is None:
        start = utcnow()
        if end is not None and end < start:
            _bad(f"to: {_utc(end)} is before now (from defaults to now): give from as well.")
    elif end is not None and start > end:
        _bad(f"from: {_utc(start)} is after to ({_utc(end)}).")

    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_arg("offset", 0, 0, MAX_OFFSET)

    calls = services.find_calls(
        session,
        start=start,
        end=end,
        status=status,
        limit=limit,
        offset=offset,
        **filters,
    )
    locale = _locale()
    return jsonify(
        calls=[call_json(call, locale) for call in calls],
        count=len(calls),
        limit=limit,
        offset=offset,
    )


@bp.get("/calls/<int:call_id>")
def show_call(call_id: int) -> Response:
    """One public call."""
    call = services.get_call(db.session, call_id) if call_id <= MAX_ID else None
    if (
        call is None
        or not call.is_public
        or (call.series is not None and not call.series.is_public)
    ):
        abort(404, f"id: no call {call_id}.")
    return jsonify(call_json(call, _locale()))
