"""JSON API for calls: GET /api/calls and GET /api/calls/<id>.

Thin: parse and check the query, ask the services, serialize. Bad input is a 400 whose message
names the parameter at fault; a call that does not exist or is not public is a 404.

Instants are given twice: in the call's own zone with its offset at that instant ("start") and in
UTC ("start_utc", with a Z). Messages in errors are for the developers of API clients and name
query parameters, so they are not translated; the error's title is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, jsonify
from flask_babel import get_locale

from app.api import MAX_ID, MAX_OFFSET, bad, instant_arg, int_arg, text_arg
from app.db import db, utcnow
from app.taxonomy.services import find_region

from . import display, services
from .models import Call, CallStatus

bp = Blueprint("calls_api", __name__, url_prefix="/api")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
STATUSES = tuple(status.value for status in CallStatus)

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

    slug = text_arg("series")
    if slug is not None:
        series = services.find_series(session, slug)
        if series is None or not series.is_public:
            bad(f"series: no series {slug!r}.")
        filters["series"] = series

    region_slug = text_arg("region")
    if region_slug is not None:
        region = find_region(session, region_slug)
        if region is None:
            bad(f"region: no region {region_slug!r}.")
        filters["region"] = region

    status = text_arg("status")
    if status is not None and status not in STATUSES:
        bad(f"status: {status[:40]!r} is not one of {', '.join(STATUSES)}.")

    start, end = instant_arg("from"), instant_arg("to")
    if start is None:
        start = utcnow()
        if end is not None and end < start:
            bad(f"to: {_utc(end)} is before now (from defaults to now): give from as well.")
    elif end is not None and start > end:
        bad(f"from: {_utc(start)} is after to ({_utc(end)}).")

    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = int_arg("offset", 0, 0, MAX_OFFSET)

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
