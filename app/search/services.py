"""Searching past updates: one service for both backends, returning the same shape.

`search(session, SearchRequest(...))` parses the text, resolves the filters (a region with the
regions below it, speakers by handle, a series with the series it continues), asks the
database's backend for a page of matching updates, and returns them with their notes, regions,
speakers, a snippet in which only <mark> is markup, and facets: counts by region and by year.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from app.calls.models import Call, Series
from app.notes.models import Note, Update
from app.taxonomy.models import Person, Region
from app.taxonomy.services import find_region_by_slug_or_alias

from . import backends, query
from .backends import MARK_END, MARK_START, Plan
from .documents import note_day, series_lineage
from .query import Query, QueryError

SORTS = ("relevance", "date")
PER_PAGE = 20
MAX_PAGE = 500
FACET_YEARS = 12


@dataclasses.dataclass
class SearchRequest:
    """The search text plus the form's fields, which add to the filters typed in the text."""

    text: str = ""
    regions: Sequence[str] = ()
    speakers: Sequence[str] = ()
    series: Sequence[str] = ()
    after: str = ""
    before: str = ""
    language: str = ""
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE
    facets: bool = True


@dataclasses.dataclass
class Result:
    update: Update
    title: Markup
    snippet: Markup

    @property
    def note(self) -> Note:
        return self.update.note


@dataclasses.dataclass
class Facet:
    key: str  # a region's slug or a year
    label: str
    count: int


@dataclasses.dataclass
class SearchResults:
    query: Query
    sort: str
    page: int
    per_page: int
    total: int
    results: list[Result]
    regions: list[Region]  # the region filters, resolved
    speakers: list[Person]
    region_facets: list[Facet] = dataclasses.field(default_factory=list)
    year_facets: list[Facet] = dataclasses.field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def notices(self) -> list[str]:
        return self.query.notices


def result_day(result: Result) -> dt.date:
    """The date the result is filed under: its call's date, else its publication's."""
    return note_day(result.note)


def highlighted(text: str) -> Markup:
    """Backend output with its marks as <mark>: everything else escaped."""
    escaped = str(escape(text))
    return Markup(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def parse_request(request: SearchRequest) -> Query:
    parsed = query.parse(request.text)
    for name, values in (
        ("region", request.regions),
        ("speaker", request.speakers),
        ("series", request.series),
    ):
        for value in values:
            query.add_filter(parsed, name, value)
    if request.after.strip():
        parsed.after = query.parse_date(request.after, "from")
    if request.before.strip():
        parsed.before = query.parse_date(request.before, "to")
    if request.language.strip():
        query.add_filter(parsed, "lang", request.language)
    if parsed.after and parsed.before and parsed.after > parsed.before:
        raise QueryError("The start date comes after the end date.", "after")
    if parsed.excluded and not parsed.has_text and not parsed.has_filters:
        raise QueryError("Add a word to search for: a search cannot hold only exclusions.")
    if request.text.strip() and not parsed.has_text and not parsed.has_filters:
        # Punctuation or a lone OR: searching for nothing would list every update.
        raise QueryError("Add a word to search for: the search holds no words.")
    return parsed


def _resolve(session: Session, parsed: Query) -> tuple[Plan, list[Region], list[Person]]:
    regions = []
    for slug in parsed.regions:
        region = find_region_by_slug_or_alias(session, slug)
        if region is None:
            raise QueryError(f"There is no region {slug!r}.", "region")
        regions.append(region)
    people = []
    for handle in parsed.speakers:
        person = session.scalar(sa.select(Person).where(Person.handle == handle))
        if person is None:
            raise QueryError(f"No one with the handle @{handle} has given an update.", "speaker")
        people.append(person)
    series_ids: list[int] = []
    for slug in parsed.series:
        series = session.scalar(sa.select(Series).where(Series.slug == slug))
        if series is None:
            raise QueryError(f"There is no series {slug!r}.", "series")
        series_ids += series_lineage(series)
    useful = parsed.without_stopwords()
    plan = Plan(
        clauses=useful.clauses,
        excluded=parsed.excluded,
        region_ids=[region.id for region in regions],
        speaker_ids=[person.id for person in people],
        series_ids=list(dict.fromkeys(series_ids)),
        language=parsed.language,
        after=parsed.after,
        before=parsed.before,
    )
    return plan, regions, people


def search(session: Session, request: SearchRequest) -> SearchResults:
    """A page of updates matching the request; QueryError when the input cannot be used."""
    if request.sort not in SORTS:
        raise QueryError(f"sort: {request.sort[:20]!r} is not one of {', '.join(SORTS)}.", "sort")
    if not 1 <= request.page <= MAX_PAGE:
        raise QueryError(f"page: pages run from 1 to {MAX_PAGE}.", "page")
    per_page = min(max(request.per_page, 1), 100)
    parsed = parse_request(request)
    plan, regions, people = _resolve(session, parsed)
    backend = backends.for_session(session)
    total = backend.count(session, plan)
    offset = (request.page - 1) * per_page
    hits = backend.search(session, plan, request.sort, per_page, offset) if total > offset else []
    updates = _load_updates(session, [hit.update_id for hit in hits])
    results = [
        Result(updates[hit.update_id], highlighted(hit.title), highlighted(hit.snippet))
        for hit in hits
        if hit.update_id in updates
    ]
    found = SearchResults(
        query=parsed,
        sort=request.sort,
        page=request.page,
        per_page=per_page,
        total=total,
        results=results,
        regions=regions,
        speakers=people,
    )
    if request.facets and total:
        found.region_facets, found.year_facets = _facets(session, backend, plan, regions)
    return found


def speakers(session: Session, limit: int = 2000) -> list[Person]:
    """Everyone who has given an update, for the speaker field's suggestions."""
    return list(session.scalars(sa.select(Person).order_by(Person.handle).limit(limit)))


def _load_updates(session: Session, ids: list[int]) -> dict[int, Update]:
    if not ids:
        return {}
    # One query for the updates with their notes, calls and series (many-to-one, joined), two
    # for their regions and speakers. The Markdown and HTML bodies, large and not shown in
    # results, are loaded only if something reads them.
    query_ = (
        sa.select(Update)
        .where(Update.id.in_(ids))
        .options(
            defer(Update.body),
            defer(Update.body_html),
            defer(Update.text),
            joinedload(Update.note).options(
                defer(Note.body),
                defer(Note.body_html),
                joinedload(Note.call).joinedload(Call.series),
            ),
            selectinload(Update.regions),
            selectinload(Update.speakers),
        )
    )
    return {update.id: update for update in session.scalars(query_).unique()}


def facet_regions(session: Session, chosen: list[Region]) -> list[Region]:
    """The regions to count by: those just below the one chosen, else below the top of the
    tree (the world, when it is the one root), else the roots themselves."""
    if len(chosen) == 1:
        parent_ids = [chosen[0].id]
    else:
        parent_ids = list(session.scalars(sa.select(Region.id).where(Region.parent_id.is_(None))))
        if len(parent_ids) != 1:
            return list(session.scalars(sa.select(Region).where(Region.id.in_(parent_ids))))
    query_ = sa.select(Region).where(Region.parent_id.in_(parent_ids)).order_by(Region.name)
    return list(session.scalars(query_))


def _facets(
    session: Session, backend: backends.Backend, plan: Plan, chosen: list[Region]
) -> tuple[list[Facet], list[Facet]]:
    """Counts by region (those `facet_regions` gives) and by year (the last FACET_YEARS years
    of the index), leaving out zeros; the backend counts them all at once."""
    regions = facet_regions(session, chosen)
    first, last = _day_range(session)
    years: list[int] = []
    if first is not None and last is not None:
        years = list(range(last.year, max(first.year, last.year - FACET_YEARS + 1) - 1, -1))
    by_region, by_year = backend.facet_counts(session, plan, [region.id for region in regions])
    region_facets = [
        Facet(region.slug, region.name, by_region[region.id])
        for region in regions
        if by_region.get(region.id)
    ]
    year_facets = [
        Facet(str(year), str(year), by_year[year]) for year in years if by_year.get(year)
    ]
    return sorted(region_facets, key=lambda facet: (-facet.count, facet.label)), year_facets


def _day_range(session: Session) -> tuple[dt.date | None, dt.date | None]:
    # Two subqueries: each reads one end of the day index; min and max together would scan it.
    row = session.execute(
        sa.text(
            "SELECT (SELECT min(day) FROM search_documents),"
            " (SELECT max(day) FROM search_documents)"
        )
    ).one()
    return _as_date(row[0]), _as_date(row[1])


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


__all__ = ["QueryError", "SearchRequest", "SearchResults", "search"]
