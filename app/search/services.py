"""Searching past updates: one service for both backends, returning the same shape.

`search(session, SearchRequest(...))` parses the text, resolves the filters (a region with the
regions below it, speakers by handle, a series with the series it continues), asks the
database's backend for a page of matching updates, and returns them with their notes, regions,
speakers, a snippet in which only <mark> is markup, and facets: counts by region and by year.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import html
import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from flask import has_app_context
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from app.cache import page_cache
from app.calls.models import Call, Series
from app.db import utcnow
from app.notes.models import Note, Update, update_regions, update_speakers
from app.taxonomy.models import Person, Region
from app.taxonomy.services import find_region_by_slug_or_alias

from . import backends, query
from .backends import MARK_END, MARK_START, Plan
from .documents import series_lineage
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


# What a result shows, read with plain queries rather than loaded as ORM objects (a third of a
# selective search's time went to the ORM): the attributes the page, the API and the CLI read.


@dataclasses.dataclass(frozen=True)
class RegionRef:
    id: int
    slug: str
    name: str
    parent_id: int | None = None


@dataclasses.dataclass(frozen=True)
class SpeakerRef:
    handle: str
    display_name: str


@dataclasses.dataclass(frozen=True)
class CallRef:
    id: int
    start_at: dt.datetime
    display_title: str


@dataclasses.dataclass(frozen=True)
class NoteRef:
    id: int
    title: str
    slug: str
    language: str
    call: CallRef | None
    day: dt.date  # its call's date in the call's zone, else the day it was published (as indexed)


@dataclasses.dataclass(frozen=True)
class UpdateRef:
    id: int
    anchor: str
    title: str
    note: NoteRef
    regions: list[RegionRef]  # by name, as Update.regions: what it is about and mentions
    speakers: list[SpeakerRef]  # by handle, as Update.speakers
    mention_ids: frozenset[int] = frozenset()  # of `regions`, the places its text mentions

    @property
    def about_regions(self) -> list[RegionRef]:
        return [region for region in self.regions if region.id not in self.mention_ids]

    @property
    def mentioned_regions(self) -> list[RegionRef]:
        return [region for region in self.regions if region.id in self.mention_ids]


@dataclasses.dataclass
class Result:
    update: UpdateRef
    title: Markup
    snippet: Markup

    @property
    def note(self) -> NoteRef:
        return self.update.note

    @property
    def marked_words(self) -> list[str]:
        """The words marked in the heading and snippet, as written there (each once, whatever
        its case): what the note's page highlights when the result is followed."""
        words: dict[str, str] = {}
        for markup in (self.title, self.snippet):
            for marked in _MARKED.findall(str(markup)):
                for word in html.unescape(marked).split():
                    words.setdefault(word.casefold(), word)
        return list(words.values())[:MAX_MARKED_WORDS]


_MARKED = re.compile(r"<mark>(.*?)</mark>", re.S)
MAX_MARKED_WORDS = 12


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
    regions: list[RegionRef]  # the region filters, resolved
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
    return result.note.day


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
        if parsed.stopwords:
            words = ", ".join(dict.fromkeys(parsed.stopwords))
            raise QueryError(
                f"Add a less common word: the search holds only very common words ({words[:80]}),"
                " which are left out of searches."
            )
        # Punctuation or a lone OR: searching for nothing would list every update.
        raise QueryError("Add a word to search for: the search holds no words.")
    return parsed


def _resolve(
    session: Session, parsed: Query, tree: RegionTable
) -> tuple[Plan, list[RegionRef], list[Person]]:
    regions = []
    for slug in parsed.regions:
        region = tree.by_slug.get(slug) or _region_by_alias(session, slug)
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
    plan = Plan(
        clauses=parsed.clauses,
        excluded=parsed.excluded,
        region_ids=[region.id for region in regions],
        speaker_ids=[person.id for person in people],
        series_ids=list(dict.fromkeys(series_ids)),
        language=parsed.language,
        after=parsed.after,
        before=parsed.before,
    )
    return plan, regions, people


def _region_by_alias(session: Session, slug: str) -> RegionRef | None:
    region = find_region_by_slug_or_alias(session, slug)
    if region is None:
        return None
    return RegionRef(region.id, region.slug, region.name, region.parent_id)


def search(session: Session, request: SearchRequest) -> SearchResults:
    """A page of updates matching the request; QueryError when the input cannot be used."""
    if request.sort not in SORTS:
        raise QueryError(f"sort: {request.sort[:20]!r} is not one of {', '.join(SORTS)}.", "sort")
    if not 1 <= request.page <= MAX_PAGE:
        raise QueryError(f"page: pages run from 1 to {MAX_PAGE}.", "page")
    per_page = min(max(request.per_page, 1), 100)
    offset = (request.page - 1) * per_page
    parsed = parse_request(request)
    tree = region_table(session)
    plan, regions, people = _resolve(session, parsed, tree)
    backend = backends.for_session(session)
    region_facets: list[Facet] = []
    year_facets: list[Facet] = []
    if request.facets:
        # The year counts cover every match: their sum is the total, no count needed.
        regions_counted = facet_regions(tree, regions)
        facet_of = tree.facet_map(regions_counted)
        hits, counts, updates = backends.facets_beside_page(
            backend, session, plan, request.sort, per_page, offset, facet_of, _load_updates
        )
        total, region_facets, year_facets = _facets(counts, regions_counted)
    else:
        hits = backend.search(session, plan, request.sort, per_page, offset)
        if len(hits) < per_page and (hits or not offset):
            # The last page (or no match at all): what precedes it plus what it holds.
            total = offset + len(hits)
        else:
            total = backend.count(session, plan)
        updates = _load_updates(session, [hit.update_id for hit in hits])
    results = [
        Result(updates[hit.update_id], highlighted(hit.title), highlighted(hit.snippet))
        for hit in hits
        if hit.update_id in updates
    ]
    return SearchResults(
        query=parsed,
        sort=request.sort,
        page=request.page,
        per_page=per_page,
        total=total,
        results=results,
        regions=regions,
        speakers=people,
        region_facets=region_facets,
        year_facets=year_facets,
    )


def count_without_filters(session: Session, parsed: Query) -> int:
    """How many updates the search's words find with no filter: for a search that found
    nothing within its filters, to say whether the words are found elsewhere."""
    plan = Plan(clauses=parsed.clauses, excluded=parsed.excluded)
    return backends.for_session(session).count(session, plan) if parsed.has_text else 0


def speakers(session: Session, limit: int = 2000) -> list[SpeakerRef]:
    """Everyone who has given an update, for the speaker field's suggestions (plain rows: the
    search page lists them all)."""
    rows = session.execute(
        sa.select(Person.handle, Person.display_name).order_by(Person.handle).limit(limit)
    )
    return [SpeakerRef(handle, display_name or "") for handle, display_name in rows]


# The index's own table: its day and language are the note's as indexed (kept in step before
# each commit). Reading them there spares reading the notes rows past their large bodies, which
# on SQLite means following each note's overflow pages (tens of kB a note).
_documents = sa.table(
    "search_documents", sa.column("update_id"), sa.column("day"), sa.column("language")
)


_ids = sa.bindparam("ids", expanding=True)
# Built once: constructing them took longer than running them.
_PAGE_UPDATES = (
    sa.select(
        Update.id,
        Update.anchor,
        Update.title,
        Note.id,
        Note.title,
        Note.slug,
        _documents.c.language,
        _documents.c.day,
        Call.id,
        Call.start_at,
        Call.title,
        Series.title,
        Update.mention_region_ids,
    )
    .select_from(_documents)
    .join(Update, Update.id == _documents.c.update_id)
    .join(Note, Note.id == Update.note_id)
    .outerjoin(Call, Call.id == Note.call_id)
    .outerjoin(Series, Series.id == Call.series_id)
    .where(_documents.c.update_id.in_(_ids))
)
_PAGE_TAGS = sa.union_all(
    sa.select(update_regions.c.update_id, Region.id, Region.slug, Region.name, sa.literal(0))
    .join(Region, Region.id == update_regions.c.region_id)
    .where(update_regions.c.update_id.in_(_ids)),
    sa.select(
        update_speakers.c.update_id, Person.id, Person.handle, Person.display_name, sa.literal(1)
    )
    .join(Person, Person.id == update_speakers.c.person_id)
    .where(update_speakers.c.update_id.in_(_ids)),
)


def _load_updates(session: Session | sa.Connection, ids: list[int]) -> dict[int, UpdateRef]:
    """The page's updates with their notes, calls, regions and speakers: two plain queries (on
    the request's session, or on the connection that counted the facets)."""
    if not ids:
        return {}
    rows = session.execute(_PAGE_UPDATES, {"ids": ids}).all()
    regions: dict[int, list[RegionRef]] = {}
    speakers_: dict[int, list[SpeakerRef]] = {}
    for update_id, tag_id, key, name, is_person in session.execute(_PAGE_TAGS, {"ids": ids}):
        if is_person:
            speakers_.setdefault(update_id, []).append(SpeakerRef(key, name))
        else:
            regions.setdefault(update_id, []).append(RegionRef(tag_id, key, name))
    found = {}
    for row in rows:
        call = None if row[8] is None else CallRef(row[8], row[9], row[10] or row[11] or "")
        note = NoteRef(row[3], row[4], row[5], row[6], call, _as_date(row[7]))
        found[row[0]] = UpdateRef(
            row[0],
            row[1],
            row[2],
            note,
            sorted(regions.get(row[0], []), key=lambda region: (region.name, region.id)),
            sorted(speakers_.get(row[0], []), key=lambda person: person.handle),
            frozenset(row[12] or ()),
        )
    return found


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


@dataclasses.dataclass
class RegionTable:
    """The region tree as plain data, for resolving `region:` filters and choosing facets."""

    regions: list[RegionRef]

    def __post_init__(self) -> None:
        self._facet_maps: dict[tuple[int, ...], dict[int, int]] = {}
        self.by_slug = {region.slug: region for region in self.regions}
        self.children: dict[int | None, list[RegionRef]] = {}
        for region in sorted(self.regions, key=lambda region: (region.name, region.id)):
            self.children.setdefault(region.parent_id, []).append(region)

    @functools.cached_property
    def options(self) -> list[tuple[str, str, int]]:
        """(slug, name, depth) of every region, each after its parent, for the region picker
        (kept with the table, so a search page does not load the tree)."""
        options: list[tuple[str, str, int]] = []
        stack = [(region, 0) for region in reversed(self.children.get(None, []))]
        while stack:
            region, depth = stack.pop()
            options.append((region.slug, region.name, depth))
            stack += [(child, depth + 1) for child in reversed(self.children.get(region.id, []))]
        return options

    def facet_map(self, facets: list[RegionRef]) -> dict[int, int]:
        """Each of the facet regions and every region below it -> the facet region it counts
        for (facet regions are siblings, so there is at most one). Kept with the table."""
        key = tuple(facet.id for facet in facets)
        if key not in self._facet_maps:
            self._facet_maps[key] = self._facet_map(facets)
        return self._facet_maps[key]

    def _facet_map(self, facets: list[RegionRef]) -> dict[int, int]:
        counted: dict[int, int] = {}
        for facet in facets:
            below = [facet.id]
            while below:
                region_id = below.pop()
                if region_id not in counted:
                    counted[region_id] = facet.id
                    below += [child.id for child in self.children.get(region_id, [])]
        return counted


_decoded: tuple[bytes, RegionTable] | None = None


def region_table(session: Session) -> RegionTable:
    """The region tree, kept per process in the page cache under the "schedule" topic (whose
    version every change to a region bumps) rather than read on each search."""

    def build() -> tuple[bytes, None]:
        rows = session.execute(sa.select(Region.id, Region.slug, Region.name, Region.parent_id))
        return json.dumps([list(row) for row in rows]).encode(), None

    if not has_app_context():
        return RegionTable([RegionRef(*row) for row in json.loads(build()[0])])
    global _decoded
    body = page_cache().get_or_build("schedule", "search.region_table", build, utcnow())
    decoded = _decoded
    if decoded is None or decoded[0] is not body:
        decoded = (body, RegionTable([RegionRef(*row) for row in json.loads(body)]))
        _decoded = decoded
    return decoded[1]


def facet_regions(tree: RegionTable, chosen: list[RegionRef]) -> list[RegionRef]:
    """The regions to count by: those just below the one chosen, else below the top of the
    tree (the world, when it is the one root), else the roots themselves."""
    if len(chosen) == 1:
        return tree.children.get(chosen[0].id, [])
    roots = tree.children.get(None, [])
    if len(roots) != 1:
        return roots
    return tree.children.get(roots[0].id, [])


def _facets(
    counts: backends.FacetCounts, regions: list[RegionRef]
) -> tuple[int, list[Facet], list[Facet]]:
    """The total, and counts by region (those `facet_regions` gives) and by year (the last
    FACET_YEARS years of the index), leaving out zeros."""
    region_facets = [
        Facet(region.slug, region.name, counts.by_region[region.id])
        for region in regions
        if counts.by_region.get(region.id)
    ]
    years: list[int] = []
    if counts.last_day is not None:
        last = counts.last_day.year
        years = list(range(last, last - FACET_YEARS, -1))
    year_facets = [
        Facet(str(year), str(year), counts.by_year[year])
        for year in years
        if counts.by_year.get(year)
    ]
    region_facets.sort(key=lambda facet: (-facet.count, facet.label))
    return counts.total, region_facets, year_facets


__all__ = ["QueryError", "SearchRequest", "SearchResults", "search"]
