"""Feeds over HTTP: the calendar feeds (the coalition's, a series', a region's, one call's .ics)
and the Atom feeds of published notes (all, a region's, a speaker's).

Each body is built once and kept in the page cache, calendars under the "schedule" topic and Atom
feeds under "notes", which every change to their models invalidates after its commit; a poll is
answered from memory without a query, with a strong ETag (a hash of the body) and Last-Modified,
and 304 when the client already has these bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.cache import page_cache
from app.db import db, utcnow
from app.taxonomy.services import find_person, find_region

from . import atom, services
from .ics import Options, build

T = TypeVar("T")

bp = Blueprint("feeds", __name__, template_folder="templates")

ALARM_MINUTES = (0, 5, 10, 15, 30, 60, 120, 1440)
CANCELLED_CHOICES = ("hide", "show")
CACHE_CONTROL = "public, max-age=300"  # shared caches revalidate within minutes of a change
ICS = "text/calendar; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
DEFAULT_OPTIONS = Options()


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
        served = with_validators(body, last_modified)
        with self.lock:
            self.items[key] = served
        return served


@dataclasses.dataclass(frozen=True)
class Body:
    data: bytes
    last_modified: dt.datetime | None  # the latest change recorded in the feed's rows
    valid_until: dt.datetime | None = None  # when the bytes change by themselves


def served(topic: str, key: Any, make: Callable[[], Body | None]) -> Served:
    """The feed for `key`, from the cache when it is there; 404 (NotFound) when `make` finds
    nothing. Needs a request context (URLs come from url_for), which the publisher provides."""
    stamps: dict[int, dt.datetime | None] = {}

    def build_bytes() -> tuple[bytes, dt.datetime | None]:
        with force_locale(services.LOCALE):
            body = make()
        if body is None:
            abort(404)
        stamps[id(body.data)] = body.last_modified
        return body.data, body.valid_until

    data = page_cache().get_or_build(topic, key, build_bytes, utcnow())
    return current_app.extensions["convene.feeds"].get(key, data, stamps.get(id(data)))


def with_validators(body: bytes, last_modified: dt.datetime) -> Served:
    """A body with its validators: a strong ETag (a hash of its bytes) and Last-Modified, to
    the second as HTTP dates are."""
    return Served(body, hashlib.sha256(body).hexdigest()[:32], last_modified.replace(microsecond=0))


def respond(feed: Served, content_type: str) -> Response:
    """The feed with its validators; 304 when the client already has these bytes."""
    response = Response(feed.body, content_type=content_type)
    response.set_etag(feed.etag)
    response.last_modified = feed.last_modified
    # Public: Flask skips Vary: Cookie and the session cookie for it (app.security).
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response.make_conditional(request)


def _calendar(
    key: Any, build_feed: Callable[[], services.Built | None], options: Options
) -> Served:
    def make() -> Body | None:
        built = build_feed()
        if built is None:
            return None
        return Body(build(built.feed, options), built.last_modified, built.valid_until)

    return served("schedule", ("feed", key, options), make)


def _atom(key: Any, build_feed: Callable[[], services.BuiltAtom | None]) -> Served:
    def make() -> Body | None:
        built = build_feed()
        return built and Body(atom.build(built.feed), built.last_modified)

    return served("notes", ("atom", key), make)


def _absolute(endpoint: str, **values: Any) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def atom_links(self_url: str, page_url: str) -> services.AtomLinks:
    base = current_app.config["BASE_URL"].rstrip("/")
    return services.AtomLinks(
        host=urlsplit(base).hostname or "localhost",
        note=lambda slug: base + url_for("notes.show_note", slug=slug),
        self_url=self_url,
        page_url=page_url,
    )


# Each feed as bytes with validators, for the views below and for `flask feeds publish`.


def calendar_feed(options: Options = DEFAULT_OPTIONS) -> Served:
    coalition = current_app.config["COALITION_NAME"]
    return _calendar(
        ("calendar",),
        lambda: services.calendar_feed(db.session, links(), utcnow(), coalition),
        options,
    )


def series_feed(slug: str, options: Options = DEFAULT_OPTIONS) -> Served:
    def build_feed() -> services.Built | None:
        found = services.public_series(db.session, slug)
        return found and services.series_feed(db.session, found, links(), utcnow())

    return _calendar(("series", slug), build_feed, options)


def region_feed(slug: str, options: Options = DEFAULT_OPTIONS) -> Served:
    coalition = current_app.config["COALITION_NAME"]

    def build_feed() -> services.Built | None:
        found = find_region(db.session, slug)
        return found and services.region_feed(db.session, found, links(), utcnow(), coalition)

    return _calendar(("region", slug), build_feed, options)


def call_feed(call_id: int, options: Options = DEFAULT_OPTIONS) -> Served:
    def build_feed() -> services.Built | None:
        found = services.public_call(db.session, call_id)
        return found and services.call_feed(db.session, found, links(), utcnow())

    return _calendar(("call", call_id), build_feed, options)


def notes_atom() -> Served:
    coalition = current_app.config["COALITION_NAME"]
    page = _absolute("notes.list_notes")
    self_url = _absolute("feeds.notes_atom_view")
    return _atom(
        ("notes",),
        lambda: services.notes_atom(db.session, atom_links(self_url, page), coalition),
    )


def region_atom(slug: str) -> Served:
    return _atom_about(
        ("region", slug),
        lambda: find_region(db.session, slug),
        lambda region: atom_links(
            _absolute("feeds.region_atom_view", slug=region.slug),
            _absolute("taxonomy.show_region", slug=region.slug),
        ),
        services.region_atom,
    )


def person_atom(handle: str) -> Served:
    return _atom_about(
        ("person", handle),
        lambda: find_person(db.session, handle),
        lambda person: atom_links(
            _absolute("feeds.person_atom_view", handle=person.handle),
            _absolute("taxonomy.show_person", handle=person.handle),
        ),
        services.person_atom,
    )


def _atom_about(
    key: tuple[str, str],
    find: Callable[[], T | None],
    links: Callable[[T], services.AtomLinks],
    build: Callable[[Session, T, services.AtomLinks, str], services.BuiltAtom | None],
) -> Served:
    """The Atom feed of one region or person (None, a 404, when `find` finds nobody)."""
    coalition = current_app.config["COALITION_NAME"]

    def build_feed() -> services.BuiltAtom | None:
        found = find()
        return None if found is None else build(db.session, found, links(found), coalition)

    return _atom(key, build_feed)


def _options() -> Options:
    try:
        return parse_options(request.args)
    except OptionError as exc:
        abort(Response(f"{exc}\n", status=400, mimetype="text/plain"))


@bp.get("/calendar.ics")
def calendar() -> Response:
    """Every public series and extra call of the coalition."""
    return respond(calendar_feed(_options()), ICS)


@bp.get("/series/<slug>.ics")
def series(slug: str) -> Response:
    """A series, followed through its changes of day or time."""
    return respond(series_feed(slug, _options()), ICS)


@bp.get("/regions/<slug>.ics")
def region(slug: str) -> Response:
    """A region's series and extra calls (its sub-regions' too) and coalition-wide ones."""
    return respond(region_feed(slug, _options()), ICS)


@bp.get("/calls/<int:call_id>.ics")
def call(call_id: int) -> Response:
    """One call, to add to a calendar once."""
    return respond(call_feed(call_id, _options()), ICS)


@bp.get("/notes.atom")
def notes_atom_view() -> Response:
    """The newest published notes."""
    return respond(notes_atom(), ATOM)


@bp.get("/regions/<slug>.atom")
def region_atom_view(slug: str) -> Response:
    """The newest published updates about a region or the regions below it."""
    return respond(region_atom(slug), ATOM)


@bp.get("/people/<handle>.atom")
def person_atom_view(handle: str) -> Response:
    """The newest published updates a speaker spoke in."""
    return respond(person_atom(handle), ATOM)


# --- the subscribe page --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Subscription:
    """One calendar feed as each client wants its address."""

    name: str
    url: str  # https (or http in development): Google's "From URL", Thunderbird

    @property
    def webcal(self) -> str:
        return "webcal://" + self.url.split("://", 1)[1]  # Apple, Outlook desktop

    @property
    def google(self) -> str:
        return "https://calendar.google.com/calendar/render?cid=" + quote(self.webcal, safe="")

    @property
    def outlook(self) -> str:
        query = urlencode({"url": self.url, "name": self.name})
        return f"https://outlook.live.com/calendar/0/addfromweb?{query}"


def _subscribe_page(feeds: list[Subscription], atom_url: str, heading: str) -> str:
    return render_template("feeds/subscribe.html", feeds=feeds, atom_url=atom_url, heading=heading)


@bp.get("/subscribe")
def subscribe() -> str:
    """How to subscribe to the coalition's calendar in each calendar client."""
    coalition = current_app.config["COALITION_NAME"]
    feeds = [Subscription(_("All calls of %(name)s", name=coalition), _absolute("feeds.calendar"))]
    return _subscribe_page(feeds, _absolute("feeds.notes_atom_view"), _("Subscribe"))


@bp.get("/subscribe/series/<slug>")
def subscribe_series(slug: str) -> str:
    """How to subscribe to one series (and the coalition's calendar)."""
    found = services.public_series(db.session, slug)
    if found is None:
        abort(404)
    coalition = current_app.config["COALITION_NAME"]
    feeds = [
        Subscription(found.title, _absolute("feeds.series", slug=found.slug)),
        Subscription(_("All calls of %(name)s", name=coalition), _absolute("feeds.calendar")),
    ]
    heading = _("Subscribe to %(title)s", title=found.title)
    return _subscribe_page(feeds, _absolute("feeds.notes_atom_view"), heading)


@bp.get("/subscribe/regions/<slug>")
def subscribe_region(slug: str) -> str:
    """How to subscribe to a region's calls (and the coalition's calendar)."""
    found = find_region(db.session, slug)
    if found is None:
        abort(404)
    coalition = current_app.config["COALITION_NAME"]
    feeds = [
        Subscription(
            _("%(coalition)s: %(region)s", coalition=coalition, region=found.name),
            _absolute("feeds.region", slug=found.slug),
        ),
        Subscription(_("All calls of %(name)s", name=coalition), _absolute("feeds.calendar")),
    ]
    heading = _("Subscribe to the calls for %(region)s", region=found.name)
    return _subscribe_page(feeds, _absolute("feeds.region_atom_view", slug=found.slug), heading)


def init_app(app: Flask) -> None:
    app.extensions["convene.feeds"] = ServedFeeds()
    app.register_blueprint(bp)
