"""The search page and `GET /api/search`: the same service, its state in the URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from app.api import bad
from app.db import db
from app.feeds import atom
from app.feeds import services as feed_services
from app.feeds.routes import ATOM, atom_links, respond, with_validators

from . import services
from .query import QueryError, without_filters
from .services import SearchRequest, SearchResults

bp = Blueprint("search", __name__, template_folder="templates")
api_bp = Blueprint("search_api", __name__, url_prefix="/api")

# What url_for leaves unquoted in an anchor.
ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"
# URL parameters: the search text, then the form's fields (each may be repeated).
ARGS = ("q", "region", "speaker", "series", "from", "to", "lang", "sort", "page")


def _request_from_args(facets: bool = True) -> SearchRequest:
    args = request.args
    page_text = args.get("page", "1").strip() or "1"
    if not page_text.isdigit() or len(page_text) > 6:
        raise QueryError(f"page: {page_text[:20]!r} is not a page number.", "page")
    return SearchRequest(
        text=args.get("q", ""),
        regions=[value for value in args.getlist("region") if value.strip()],
        speakers=[value for value in args.getlist("speaker") if value.strip()],
        series=[value for value in args.getlist("series") if value.strip()],
        after=args.get("from", ""),
        before=args.get("to", ""),
        language=args.get("lang", ""),
        sort=args.get("sort", "relevance") or "relevance",
        page=int(page_text),
        facets=facets,
    )


def page_url(**changes: Any) -> str:
    """This search's URL with some parameters changed (None removes one)."""
    return url_for("search.search_page", **_params(**changes))


def result_url(result: services.Result) -> str:
    """A result's update in its note, with the words it was found by for the page to mark."""
    words = " ".join(result.marked_words)
    extra = {"highlight": words} if words else {}
    return url_for("notes.show_note", slug=result.note.slug, _anchor=result.update.anchor, **extra)


def feed_url() -> str:
    """The Atom feed of this search: its words and filters, newest first."""
    return url_for("search.search_atom", **_params(sort=None))


def unfiltered_url() -> str:
    """This search's words alone, with no filter (inline filters taken out of the text)."""
    params = {"q": without_filters(request.args.get("q", "")), "sort": request.args.get("sort")}
    return url_for("search.search_page", **{k: v for k, v in params.items() if v})


def _params(**changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {key: request.args.getlist(key) for key in ARGS if key in request.args}
    params.pop("page", None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params


@bp.get("/search")
def search_page() -> tuple[str, int] | str:
    """The search form and a page of results, with facets; the state lives in the URL."""
    found: SearchResults | None = None
    error: QueryError | None = None
    searching = any(request.args.get(key, "").strip() for key in ARGS if key not in ("sort",))
    elsewhere = 0  # when nothing is found within the filters: the words' matches without them
    if searching:
        try:
            found = services.search(db.session, _request_from_args())
        except QueryError as exc:
            error = exc
        if found is not None and not found.total and found.query.has_filters:
            elsewhere = services.count_without_filters(db.session, found.query)
    body = render_template(
        "search/search.html",
        found=found,
        error=error,
        region_options=services.region_table(db.session).options,
        people=services.speakers(db.session),
        args=request.args,
        page_url=page_url,
        feed_url=feed_url,
        result_url=result_url,
        elsewhere=elsewhere,
        unfiltered_url=unfiltered_url,
        result_day=services.result_day,
    )
    return (body, 400) if error else body


def result_json(result: services.Result, note_urls: dict[str, str]) -> dict[str, Any]:
    """A result as the API gives it; `note_urls` keeps the notes' URLs already built for the
    response (building one is most of what a result costs)."""
    update, note = result.update, result.note
    call = note.call
    note_url = note_urls.get(note.slug)
    if note_url is None:
        note_url = note_urls[note.slug] = url_for("notes.show_note", slug=note.slug, _external=True)
    return {
        "update_id": update.id,
        "anchor": update.anchor,
        "title": update.title,
        "title_html": str(result.title),
        "snippet_html": str(result.snippet),
        "url": f"{note_url}#{quote(update.anchor, safe=ANCHOR_SAFE)}",
        "note": {
            "title": note.title,
            "slug": note.slug,
            "language": note.language,
            "url": note_url,
        },
        "call": None
        if call is None
        else {
            "id": call.id,
            "start": call.start_at.isoformat().replace("+00:00", "Z"),
            "title": call.display_title,
        },
        "date": services.result_day(result).isoformat(),
        "regions": [{"slug": r.slug, "name": r.name} for r in update.about_regions],
        "mentions": [{"slug": r.slug, "name": r.name} for r in update.mentioned_regions],
        "speakers": [{"handle": p.handle, "name": p.display_name} for p in update.speakers],
    }


@api_bp.get("/search")
def search_api() -> Response:
    """GET /api/search?q=&region=&speaker=&series=&from=&to=&lang=&sort=&page=&per_page=

    The total, the page's results (each with a snippet in which only <mark> is markup) and
    facets: counts by region and by year. Input that cannot be used is a 400 naming it.
    """
    try:
        search_request = _request_from_args(facets=request.args.get("facets", "1") != "0")
        per_page = request.args.get("per_page", "").strip()
        if per_page:
            if not per_page.isdigit() or not 1 <= int(per_page) <= 100:
                raise QueryError("per_page: give a number from 1 to 100.", "per_page")
            search_request.per_page = int(per_page)
        found = services.search(db.session, search_request)
    except QueryError as exc:
        bad(str(exc))
    note_urls: dict[str, str] = {}
    return jsonify(
        {
            "query": request.args.get("q", ""),
            "filters": {
                "regions": [r.slug for r in found.regions],
                "speakers": [p.handle for p in found.speakers],
                "series": found.query.series,
                "from": found.query.after.isoformat() if found.query.after else None,
                "to": found.query.before.isoformat() if found.query.before else None,
                "lang": found.query.language,
            },
            "notices": found.notices,
            "sort": found.sort,
            "page": found.page,
            "per_page": found.per_page,
            "pages": found.pages,
            "total": found.total,
            "facets": {
                "regions": [
                    {"slug": f.key, "name": f.label, "count": f.count} for f in found.region_facets
                ],
                "years": [{"year": int(f.key), "count": f.count} for f in found.year_facets],
            },
            "results": [result_json(result, note_urls) for result in found.results],
        }
    )


@bp.get("/search.atom")
def search_atom() -> Response:
    """The newest published updates a search finds (its words and filters, newest first), to
    follow in a feed reader. Built on each request: the page cache keeps a body per key, and
    searches have no end of keys. A reader that has these bytes gets 304."""
    try:
        search_request = _request_from_args(facets=False)
        search_request.sort, search_request.page = "date", 1
        search_request.per_page = feed_services.ATOM_ENTRIES
        found = services.search(db.session, search_request)
    except QueryError as exc:
        return Response(f"{exc}\n", status=400, mimetype="text/plain")
    base = current_app.config["BASE_URL"].rstrip("/")
    links = atom_links(base + feed_url(), base + page_url())
    described = describe(found)
    coalition = current_app.config["COALITION_NAME"]
    built = feed_services.updates_atom(
        db.session,
        [result.update.id for result in found.results],
        links,
        coalition,
        described,
        f"Updates matching {described} in the notes of {coalition}, newest first.",
    )
    # Built for this request and kept nowhere: the page cache keeps a body per address.
    return respond(with_validators(atom.build(built.feed), built.last_modified), ATOM)


def describe(found: SearchResults) -> str:
    """A search in words, for its feed's title: 'legal aid' in Africa, by @rina, from ..."""
    text = without_filters(request.args.get("q", ""))
    parts = [f"“{text[:80]}{'…' if len(text) > 80 else ''}”" if text else "all updates"]
    if found.regions:
        parts.append("in " + ", ".join(region.name for region in found.regions))
    if found.speakers:
        parts.append("by " + ", ".join(f"@{person.handle}" for person in found.speakers))
    if found.query.language:
        parts.append(f"in language {found.query.language}")
    if found.query.after:
        parts.append(f"from {found.query.after.isoformat()}")
    if found.query.before:
        parts.append(f"to {found.query.before.isoformat()}")
    return " ".join(parts)
