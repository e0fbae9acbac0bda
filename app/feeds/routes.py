"""Calendar feeds over HTTP: the coalition's, a series', a region's, and one call's .ics.

Each body is built once and kept in the page cache under the "schedule" topic, which every change
to a series, call, region or note invalidates after its commit; a poll is answered from memory
without a query, with a strong ETag (a hash of the body) and Last-Modified, and 304 when the
client already has these bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, request, url_for
from flask_babel import force_locale

from app.cache import page_cache
from app.db import db, utcnow
from app.taxonomy.services import find_region

from . import services
from .ics import Options, build

bp = Blueprint("feeds", __name__)

ALARM_MINUTES = (0, 5, 10, 15, 30, 60, 120, 1440)
CANCELLED_CHOICES = ("hide", "show")
CACHE_CONTROL = "public, max-age=300"  # shared caches revalidate within minutes of a change


class OptionError(ValueError):
    pass


def parse_options(args: Any) -> Options:
    """The subscriber's options from the query string; OptionError says what is wrong.

    Alarms are limited to a few lead times so that the options cannot multiply cached bodies.
    """
    cancelled = args.get("cancelled", "hide")
    if cancelled not in CANCELLED_CHOICES:
        raise OptionError(f"cancelled must be 'hide' or 'show', not {cancelled[:40]!r}.")
    alarm: int | None = None
    if "alarm" in args:
        text = args.get("alarm", "")
        allowed = ", ".join(str(minutes) for minutes in ALARM_MINUTES)
        if not text.isdigit() or int(text) not in ALARM_MINUTES:
            raise OptionError(
                f"alarm must be a number of minutes before the call, one of {allowed}; "
                f"not {text[:40]!r}."
            )
        alarm = int(text)
    return Options(show_cancelled=cancelled == "show", alarm_minutes=alarm)


def links() -> services.Links:
    base = current_app.config["BASE_URL"].rstrip("/")
    return services.Links(
        host=urlsplit(base).hostname or "localhost",
        call=lambda call_id: base + url_for("calls.show_call", call_id=call_id),
        series=lambda slug: base + url_for("calls.show_series", slug=slug),
        note=lambda slug: base + url_for("notes.show_note", slug=slug),
    )


@dataclasses.dataclass(frozen=True)
class Served:
    body: bytes
    etag: str
    last_modified: dt.datetime


class ServedFeeds:
    """Each cached body's ETag and Last-Modified, computed once per body.

    Last-Modified is the latest change recorded in the feed's rows, the same in every worker;
    if a body changed without a newer record (a call deleted), the build time stands in, so that
    If-Modified-Since never hides a change.
    """

    def __init__(self) -> None:
        self.items: dict[Any, Served] = {}
        self.lock = threading.Lock()

    def get(self, key: Any, body: bytes, stamp: dt.datetime | None) -> Served:
        served = self.items.get(key)
        if served is not None and served.body is body:
            return served
        last_modified = (stamp or utcnow()).replace(microsecond=0)
        if served is not None and served.body != body and last_modified <= served.last_modified:
            last_modified = utcnow().replace(microsecond=0)
        served = Served(body, hashlib.sha256(body).hexdigest()[:32], last_modified)
        with self.lock:
            self.items[key] = served
        return served


def serve_feed(
    key: Any, build_feed: Callable[[], services.Built | None], options: Options
) -> Response:
    """The feed for `key`, from the cache when it is there; 404 when `build_feed` finds nothing."""
    stamps: dict[int, dt.datetime] = {}

    def build_bytes() -> tuple[bytes, dt.datetime | None]:
        with force_locale(services.LOCALE):
            built = build_feed()
            if built is None:
                abort(404)
            body = build(built.feed, options)
        stamps[id(body)] = built.last_modified
        return body, built.valid_until

    full_key = ("feed", key, options)
    body = page_cache().get_or_build("schedule", full_key, build_bytes, utcnow())
    served = current_app.extensions["convene.feeds"].get(full_key, body, stamps.get(id(body)))
    response = Response(served.body, mimetype="text/calendar")
    response.content_type = "text/calendar; charset=utf-8"
    response.set_etag(served.etag)
    response.last_modified = served.last_modified
    response.cache_control.public = True
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response.make_conditional(request)


def _options() -> Options:
    try:
        return parse_options(request.args)
    except OptionError as exc:
        abort(Response(f"{exc}\n", status=400, mimetype="text/plain"))


@bp.get("/calendar.ics")
def calendar() -> Response:
    """Every public series and extra call of the coalition."""
    options = _options()
    coalition = current_app.config["COALITION_NAME"]
    return serve_feed(
        ("calendar",),
        lambda: services.calendar_feed(db.session, links(), utcnow(), coalition),
        options,
    )


@bp.get("/series/<slug>.ics")
def series(slug: str) -> Response:
    """A series, followed through its changes of day or time."""
    options = _options()

    def build_feed() -> services.Built | None:
        found = services.public_series(db.session, slug)
        return found and services.series_feed(db.session, found, links(), utcnow())

    return serve_feed(("series", slug), build_feed, options)


@bp.get("/regions/<slug>.ics")
def region(slug: str) -> Response:
    """A region's series and extra calls (its sub-regions' too) and coalition-wide ones."""
    options = _options()
    coalition = current_app.config["COALITION_NAME"]

    def build_feed() -> services.Built | None:
        found = find_region(db.session, slug)
        return found and services.region_feed(db.session, found, links(), utcnow(), coalition)

    return serve_feed(("region", slug), build_feed, options)


@bp.get("/calls/<int:call_id>.ics")
def call(call_id: int) -> Response:
    """One call, to add to a calendar once."""
    options = _options()

    def build_feed() -> services.Built | None:
        found = services.public_call(db.session, call_id)
        return found and services.call_feed(db.session, found, links(), utcnow())

    return serve_feed(("call", call_id), build_feed, options)


def init_app(app: Flask) -> None:
    app.extensions["convene.feeds"] = ServedFeeds()
    app.register_blueprint(bp)
