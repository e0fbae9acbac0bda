"""The two search backends: SQLite FTS5 and PostgreSQL full-text search, with one interface.

Both store one row per published update in tables of their own (created by the migrations, not
by the models: `search_documents`, and on SQLite the FTS5 table `search_fts`), take a `Plan` (the
parsed query with its filters resolved to ids) and return the matching update ids in order, with
the heading and a snippet in which the matched words are between MARK_START and MARK_END.

SQLite: an FTS5 table with the porter stemmer over unicode61 with diacritics removed. Filters
are tokens in its `keys` column (r<region id> for every tagged region and every region above
it, p<person id>, s<series id>, l<language>, y<year of the call>), so a filter is part of the
MATCH expression rather than a join, and a facet can be one FTS5 count; ranking uses the table's
`rank` column, whose bm25 weights the migration sets once;
snippets are built only for the rows of the page.

PostgreSQL: a tsvector column (weights A heading, B note title, speakers and places, D text)
with a GIN index, in the `convene` text search configuration (English stemming after unaccent),
arrays of region, person and series ids with GIN indexes, `ts_rank` and `ts_headline`. The
tsvector is there twice: toasted in `search_documents`, whose narrow rows the facets count, and
in the row of `search_vectors`, from which the page is matched and ranked (a toasted tsvector
costs a TOAST lookup per match to rank).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from .documents import Document
    from .query import Term

MARK_START, MARK_END = "\ue000", "\ue001"
SNIPPET_WORDS = 32
# SQLite: up to this many matches, facets are counted in one pass over them (see facet_counts).
SINGLE_PASS = 1500


@dataclasses.dataclass
class Plan:
    """A query ready for a backend: every clause must match, no excluded term may; each filter
    list matches any of its ids (region ids are matched with the regions below them)."""

    clauses: list[list[Term]]
    excluded: list[Term]
    region_ids: list[int] = dataclasses.field(default_factory=list)
    speaker_ids: list[int] = dataclasses.field(default_factory=list)
    series_ids: list[int] = dataclasses.field(default_factory=list)
    language: str | None = None
    after: dt.date | None = None
    before: dt.date | None = None
    year: int | None = None  # for facet counts: the updates of calls in this year

    @property
    def filtered(self) -> bool:
        """Whether any filter beside the words applies (the facets' `year` aside)."""
        return bool(
            self.region_ids
            or self.speaker_ids
            or self.series_ids
            or self.language
            or self.after
            or self.before
        )

    def narrowed(self, **changes: Any) -> Plan:
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass
class FacetCounts:
    by_region: dict[int, int]  # matches below each region asked for
    by_year: dict[int, int]  # matches by year, every year: their sum is the number of matches
    last_day: dt.date | None  # the index's latest day (not the matches'), None when no match

    @property
    def total(self) -> int:
        return sum(self.by_year.values())


# What SQLite's counts read through: the request's session, or a connection of their own.
Reader = Session | sa.Connection
Loaded = TypeVar("Loaded")
# Reads what the page's results show, given their update ids in order.
Loader = Callable[[Reader, list[int]], Loaded]
# Told the page's update ids as soon as they are known (before the snippets are made).
IdsReady = Callable[[list[int]], None]

_threads: tuple[int, ThreadPoolExecutor] | None = None


def _facet_threads() -> ThreadPoolExecutor:
    """This process's threads for counting facets beside the page (made after a fork: a
    gunicorn worker does not inherit its master's threads). A search holds one until its page
    is known, so there are as many as a gthread worker is likely to run searches at once."""
    global _threads
    if _threads is None or _threads[0] != os.getpid():
        _threads = (os.getpid(), ThreadPoolExecutor(16, thread_name_prefix="search-facets"))
    return _threads[1]


def facets_beside_page(
    backend: Backend,
    session: Session,
    plan: Plan,
    sort: str,
    limit: int,
    offset: int,
    facet_of: Mapping[int, int],
    load: Loader[Loaded],
) -> tuple[list[Hit], FacetCounts, Loaded]:
    """The page on the request's session and, at the same time, on a connection of its own in
    another thread (which sees what is committed: a search reads nothing it wrote), the facets
    (whose year counts give the total) and then what the page's results show, read by `load`
    as soon as the page's ids are known (PostgreSQL knows them before it makes the snippets).
    Where there is no other connection to the same data (a session bound to one connection,
    an in-memory SQLite database), the facets, the page and the results one after the other
    on the session.

    On two cores a search takes about as long as the longer of the two sides instead of their
    sum: sqlite3 lets go of the GIL while a query runs. PostgreSQL's facets for words read the
    GIN index and the rows' days and regions, not the tsvectors; a phrase's positions are
    checked on both sides, each on its own core."""
    engine = session.get_bind()
    if not isinstance(engine, sa.Engine) or engine.url.database in (None, "", ":memory:"):
        counts = backend.facet_counts(session, plan, facet_of)
        hits = backend.search(session, plan, sort, limit, offset) if counts.total > offset else []
        return hits, counts, load(session, [hit.update_id for hit in hits])
    page_ids: Future[list[int]] = Future()

    def count_then_load() -> tuple[FacetCounts, Loaded]:
        with engine.connect() as connection:
            counts = backend.facet_counts(connection, plan, facet_of)
            return counts, load(connection, page_ids.result())

    counting = _facet_threads().submit(count_then_load)
    hits: list[Hit] = []
    try:
        hits = backend.search(session, plan, sort, limit, offset, page_ids.set_result)
    finally:
        if not page_ids.done():  # told nothing early (or the page failed): the thread waits
            page_ids.set_result([hit.update_id for hit in hits])
        counts, loaded = counting.result()
    return (hits if counts.total > offset else []), counts, loaded


@dataclasses.dataclass
class Hit:
    update_id: int
    title: str  # with MARK_START / MARK_END around matched words
    snippet: str


class Backend(Protocol):
    def clear(self, session: Session) -> None: ...
    def add(self, session: Session, documents: Sequence[Document]) -> None: ...
    def remove_notes(self, session: Session, note_ids: Sequence[int]) -> None: ...
    def optimize(self, session: Session) -> None: ...
    def count(self, session: Session, plan: Plan) -> int: ...
    def search(
        self,
        session: Session,
        plan: Plan,
        sort: str,
        limit: int,
        offset: int,
        ids_ready: IdsReady | None = None,
    ) -> list[Hit]: ...
    def facet_counts(
        self, session: Reader, plan: Plan, facet_of: Mapping[int, int]
    ) -> FacetCounts: ...


def for_session(session: Session) -> Backend:
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return SQLITE
    if name == "postgresql":
        return POSTGRES
    raise RuntimeError(f"Search supports SQLite and PostgreSQL, not {name}.")


def _in_list(name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    keys = {f"{name}{index}": value for index, value in enumerate(values)}
    return ", ".join(f":{key}" for key in keys), keys


# --- SQLite FTS5 -------------------------------------------------------------------------------

TEXT_COLUMNS = "{title body note_title people places}"


def _fts_term(term: Term) -> str:
    # Only word characters reach the expression, each phrase in double quotes: nothing the
    # person typed can be read as FTS5 syntax.
    return '"' + " ".join(term.words) + '"'


def _fts_any(terms: Sequence[Term]) -> str:
    return "(" + " OR ".join(_fts_term(term) for term in terms) + ")"


def _language_key(language: str) -> str:
    return "l" + "".join(char for char in language.lower() if char.isalnum())


def fts_expression(plan: Plan) -> str | None:
    """The MATCH expression for the plan's words and key filters; None when it has neither."""
    parts = []
    if plan.clauses:
        text = " AND ".join(_fts_any(clause) for clause in plan.clauses)
        parts.append(f"{TEXT_COLUMNS} : ({text})")
    for prefix, ids in (("r", plan.region_ids), ("p", plan.speaker_ids), ("s", plan.series_ids)):
        if ids:
            parts.append("keys : (" + " OR ".join(f"{prefix}{value}" for value in ids) + ")")
    if plan.language:
        parts.append(f"keys : {_language_key(plan.language)}")
    if plan.year is not None:
        parts.append(f"keys : y{plan.year}")
    if not parts:
        return None
    expression = " AND ".join(f"({part})" for part in parts)
    if plan.excluded:
        expression = f"({expression}) NOT ({TEXT_COLUMNS} : {_fts_any(plan.excluded)})"
    return expression


def _on_rowid(dates: str) -> str:
    """Date conditions (from `_day_conditions`) as a condition on an FTS5 query's rowid. Reading
    the `day` column would read each match's whole stored row (its text too); search_documents
    has the days indexed."""
    if not dates:
        return ""
    return f" AND rowid IN (SELECT update_id FROM search_documents WHERE 1 = 1{dates})"


def _day_conditions(plan: Plan, column: str, suffix: str = "") -> tuple[str, dict[str, Any]]:
    conditions, params = [], {}
    if plan.after:
        conditions.append(f"{column} >= :after{suffix}")
        params[f"after{suffix}"] = plan.after.isoformat()
    if plan.before:
        conditions.append(f"{column} <= :before{suffix}")
        params[f"before{suffix}"] = plan.before.isoformat()
    return "".join(f" AND {condition}" for condition in conditions), params


def _count_query(plan: Plan, suffix: str = "") -> tuple[str, dict[str, Any]]:
    """A count of the plan's matches, its parameters' names ending in `suffix` (so that several
    can share a statement)."""
    expression = fts_expression(plan)
    dates, params = _day_conditions(plan, "day", suffix)
    if expression is None:
        return f"SELECT count(*) FROM search_documents WHERE 1 = 1{dates}", params
    params[f"match{suffix}"] = expression
    return (
        f"SELECT count(*) FROM search_fts WHERE search_fts MATCH :match{suffix}{_on_rowid(dates)}",
        params,
    )


class SQLiteBackend:
    def clear(self, session: Session) -> None:
        session.execute(sa.text("DELETE FROM search_fts"))
        session.execute(sa.text("DELETE FROM search_documents"))

    def add(self, session: Session, documents: Sequence[Document]) -> None:
        if not documents:
            return
        session.execute(
            sa.text(
                "INSERT INTO search_fts (rowid, title, body, note_title, people, places, keys, day)"
                " VALUES (:update_id, :title, :body, :note_title, :people, :places, :keys, :day)"
            ),
            [
                {
                    "update_id": d.update_id,
                    "title": d.title,
                    "body": d.body,
                    "note_title": d.note_title,
                    "people": d.people,
                    "places": d.places,
                    "keys": " ".join(
                        [f"r{i}" for i in d.region_ids]
                        + [f"p{i}" for i in d.speaker_ids]
                        + [f"s{i}" for i in d.series_ids]
                        + [_language_key(d.language), f"y{d.day.year}"]
                    ),
                    "day": d.day.isoformat(),
                }
                for d in documents
            ],
        )
        session.execute(
            sa.text(
                "INSERT INTO search_documents (update_id, note_id, day, language)"
                " VALUES (:update_id, :note_id, :day, :language)"
            ),
            [
                {
                    "update_id": d.update_id,
                    "note_id": d.note_id,
                    "day": d.day.isoformat(),
                    "language": d.language,
                }
                for d in documents
            ],
        )

    def remove_notes(self, session: Session, note_ids: Sequence[int]) -> None:
        placeholders, params = _in_list("n", note_ids)
        session.execute(
            sa.text(
                "DELETE FROM search_fts WHERE rowid IN (SELECT update_id FROM search_documents"
                f" WHERE note_id IN ({placeholders}))"
            ),
            params,
        )
        session.execute(
            sa.text(f"DELETE FROM search_documents WHERE note_id IN ({placeholders})"), params
        )

    def optimize(self, session: Session) -> None:
        session.execute(sa.text("INSERT INTO search_fts (search_fts) VALUES ('optimize')"))

    def count(self, session: Reader, plan: Plan) -> int:
        sql, params = _count_query(plan)
        return session.execute(sa.text(sql), params).scalar_one()

    def facet_counts(self, session: Reader, plan: Plan, facet_of: Mapping[int, int]) -> FacetCounts:
        """Matches by region and by year. Counted one of two ways, by the number of matches:

        - few (up to SINGLE_PASS): in one statement over them, each match's day from
          search_documents and its regions from update_regions (the facet region each counts
          for from `facet_of`), counted by SQLite, which hands back a row per year and per
          facet. FTS5 evaluates the query once: each count would evaluate it again, which for
          two words means merging their posting lists again.
        - many: one FTS5 count per facet region and per year, each a `keys` token, so each
          merges the query's posting lists with a short one and never reads a stored row, where
          the pass would look up tens of thousands of rows.
        """
        total = self.count(session, plan)
        expression = fts_expression(plan)
        dates, params = _day_conditions(plan, "day")
        if total > SINGLE_PASS:
            matches = "SELECT NULL AS update_id, NULL AS day WHERE 0"  # the bounds alone
        elif expression is None:
            matches = f"SELECT update_id, day FROM search_documents WHERE 1 = 1{dates}"
        else:
            params["match"] = expression
            matches = (
                "SELECT d.update_id, d.day FROM (SELECT rowid FROM search_fts WHERE search_fts"
                f" MATCH :match{_on_rowid(dates)}) AS f"
                " JOIN search_documents d ON d.update_id = f.rowid"
            )
        params["facet_of"] = json.dumps(facet_of)
        rows = session.execute(
            sa.text(
                f"WITH m AS MATERIALIZED ({matches}), facets AS MATERIALIZED (SELECT"
                " CAST(key AS INTEGER) AS region_id, value AS facet FROM json_each(:facet_of))"
                # The index's first and last days, each read from one end of the day index.
                " SELECT 'days', (SELECT min(day) FROM search_documents),"
                " (SELECT max(day) FROM search_documents)"
                " UNION ALL SELECT 'year', CAST(substr(day, 1, 4) AS INTEGER), count(*)"
                " FROM m GROUP BY 2"
                # CROSS JOIN keeps this order (SQLite would rather start from the facets and
                # read every update of their regions).
                " UNION ALL SELECT 'region', facets.facet, count(DISTINCT m.update_id) FROM m"
                " CROSS JOIN update_regions r ON r.update_id = m.update_id"
                " CROSS JOIN facets ON facets.region_id = r.region_id GROUP BY facets.facet"
            ),
            params,
        ).all()
        if rows[0][2] is None:
            return FacetCounts({}, {}, None)
        first_day, last_day = (dt.date.fromisoformat(day) for day in rows[0][1:])
        if total <= SINGLE_PASS:
            by_year = {year: count for kind, year, count in rows if kind == "year"}
            by_region = {facet: count for kind, facet, count in rows if kind == "region"}
        else:
            by_region, by_year = self._counted_by_keys(session, plan, facet_of, first_day, last_day)
        return FacetCounts(by_region, by_year, last_day)

    def _counted_by_keys(
        self,
        session: Reader,
        plan: Plan,
        facet_of: Mapping[int, int],
        first_day: dt.date,
        last_day: dt.date,
    ) -> tuple[dict[int, int], dict[int, int]]:
        """The years are those of the index within the plan's dates; a year inside them keeps
        no date condition. All the counts are one statement: SQLite runs them one after the
        other without coming back to Python (each round trip took the GIL from the page's
        thread)."""
        regions = sorted(set(facet_of.values()))
        start = max(first_day, plan.after or first_day).year
        end = min(last_day, plan.before or last_day).year
        years = list(range(start, end + 1))
        plans = [plan.narrowed(region_ids=[region_id]) for region_id in regions] + [
            plan.narrowed(
                year=year,
                after=plan.after if plan.after and plan.after > dt.date(year, 1, 1) else None,
                before=plan.before if plan.before and plan.before < dt.date(year, 12, 31) else None,
            )
            for year in years
        ]
        if not plans:
            return {}, {}
        counts, params = [], {}
        for index, narrowed in enumerate(plans):
            sql, named = _count_query(narrowed, f"_{index}")
            counts.append(f"({sql})")
            params |= named
        row = session.execute(sa.text("SELECT " + ", ".join(counts)), params).one()
        by_region = dict(zip(regions, row[: len(regions)], strict=True))
        by_year = {year: n for year, n in zip(years, row[len(regions) :], strict=True) if n}
        return by_region, by_year

    def search(
        self,
        session: Session,
        plan: Plan,
        sort: str,
        limit: int,
        offset: int,
        ids_ready: IdsReady | None = None,
    ) -> list[Hit]:
        """The page, its highlights and snippets made in the same statement (`ids_ready` is
        not told early)."""
        expression = fts_expression(plan)
        dates, params = _day_conditions(plan, "day")
        params |= {"limit": limit, "offset": offset, "start": MARK_START, "end": MARK_END}
        by_date = "day DESC, rowid DESC"
        if expression is None:
            sql = (
                "SELECT f.rowid, f.title, substr(f.body, 1, 300) FROM search_fts f"
                " WHERE f.rowid IN (SELECT update_id FROM search_documents WHERE 1 = 1"
                f"{dates} ORDER BY day DESC, update_id DESC LIMIT :limit OFFSET :offset)"
                f" ORDER BY {by_date}"
            )
            rows = session.execute(sa.text(sql), params).all()
            return [Hit(row[0], row[1], _shortened(row[2])) for row in rows]
        params["match"] = expression
        columns = (
            "rowid, highlight(search_fts, 0, :start, :end),"
            f" snippet(search_fts, 1, :start, :end, '…', {SNIPPET_WORDS})"
        )
        if sort == "relevance" and plan.clauses:
            # FTS5 sorts by its `rank` column itself and stops after the page: the highlights
            # and snippets are made for the page's rows alone.
            sql = (
                f"SELECT {columns} FROM search_fts WHERE search_fts MATCH :match{_on_rowid(dates)}"
                " ORDER BY rank LIMIT :limit OFFSET :offset"
            )
        else:
            # By date: the page's ids through search_documents' (day, update_id) index, then
            # highlights and snippets for them alone.
            sql = (
                f"SELECT {columns} FROM search_fts WHERE search_fts MATCH :match AND rowid IN ("
                "SELECT update_id FROM search_documents WHERE update_id IN (SELECT rowid FROM"
                f" search_fts WHERE search_fts MATCH :match){dates}"
                " ORDER BY day DESC, update_id DESC LIMIT :limit OFFSET :offset)"
                f" ORDER BY {by_date}"
            )
        rows = session.execute(sa.text(sql), params).all()
        return [Hit(row[0], row[1], row[2]) for row in rows]


def _shortened(text: str, words: int = SNIPPET_WORDS) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


# --- PostgreSQL ---------------------------------------------------------------------------------

CONFIG = "convene"
# PostgreSQL's parser reads "<script>" or "<b>" in the text as markup: it indexes no word of it
# and ts_headline drops it. Stored with these stand-ins instead, it stays text, put back after.
_ANGLES = str.maketrans({"<": "\ue002", ">": "\ue003"})
_ANGLES_BACK = str.maketrans({"\ue002": "<", "\ue003": ">"})


def _angles_hidden(document: Document) -> dict[str, Any]:
    row = dataclasses.asdict(document)
    return {k: v.translate(_ANGLES) if isinstance(v, str) else v for k, v in row.items()}


def _pg_hit(row: Any, snippet: str) -> Hit:
    return Hit(row[0], row[1].translate(_ANGLES_BACK), snippet.translate(_ANGLES_BACK))


def tsquery_text(plan: Plan) -> str:
    """The plan's words in to_tsquery's syntax, rebuilt from parsed terms: only word characters,
    each quoted, `<->` between a phrase's words, `|` within a clause, `&` between clauses (in
    parentheses: websearch_to_tsquery's `or` binds looser than the `and` between words, so
    "Recife OR Nairobi paralegal" would find everything about Recife), `!` before exclusions."""

    def term_text(term: Term) -> str:
        return "(" + " <-> ".join(f"'{word}'" for word in term.words) + ")"

    parts = ["(" + " | ".join(map(term_text, clause)) + ")" for clause in plan.clauses]
    parts += [f"!{term_text(term)}" for term in plan.excluded]
    return " & ".join(parts)


class PostgresBackend:
    def clear(self, session: Session) -> None:
        session.execute(sa.text("DELETE FROM search_vectors"))
        session.execute(sa.text("DELETE FROM search_documents"))

    def add(self, session: Session, documents: Sequence[Document]) -> None:
        if not documents:
            return
        session.execute(
            sa.text(
                "INSERT INTO search_documents (update_id, note_id, title, body, note_title,"
                " people, places, region_ids, speaker_ids, series_ids, language, day, tsv)"
                " VALUES (:update_id, :note_id, :title, :body, :note_title, :people, :places,"
                " :region_ids, :speaker_ids, :series_ids, :language, :day,"
                f" setweight(to_tsvector('{CONFIG}', :title), 'A')"
                f" || setweight(to_tsvector('{CONFIG}', :note_title), 'B')"
                f" || setweight(to_tsvector('{CONFIG}', :people || ' ' || :places), 'B')"
                f" || setweight(to_tsvector('{CONFIG}', :body), 'D'))"
            ),
            [_angles_hidden(d) for d in documents],
        )
        session.execute(
            sa.text(
                "INSERT INTO search_vectors (update_id, tsv) SELECT update_id, tsv"
                " FROM search_documents WHERE update_id = ANY(:ids)"
            ),
            {"ids": [d.update_id for d in documents]},
        )

    def remove_notes(self, session: Session, note_ids: Sequence[int]) -> None:
        # Their search_vectors rows go with them (ON DELETE CASCADE).
        session.execute(
            sa.text("DELETE FROM search_documents WHERE note_id = ANY(:ids)"),
            {"ids": list(note_ids)},
        )

    def optimize(self, session: Session) -> None:
        session.execute(sa.text("ANALYZE search_documents, search_vectors"))

    @classmethod
    def _where(cls, plan: Plan, words: str = "d") -> tuple[str, dict[str, Any]]:
        """Conditions on `search_documents d`, the words' on the tsvector of the table `words`
        names (`d`, or `v` for `search_vectors v`)."""
        matching, params = cls._words(plan, words)
        filters, more = cls._filters(plan)
        return f"{matching} AND {filters}", params | more

    @staticmethod
    def _words(plan: Plan, table: str = "d") -> tuple[str, dict[str, Any]]:
        text = tsquery_text(plan)
        if not text:
            return "true", {}
        return f"{table}.tsv @@ to_tsquery('{CONFIG}', :query)", {"query": text}

    @staticmethod
    def _filters(plan: Plan) -> tuple[str, dict[str, Any]]:
        conditions: list[str] = ["true"]
        params: dict[str, Any] = {}
        for column, ids in (
            ("region_ids", plan.region_ids),
            ("speaker_ids", plan.speaker_ids),
            ("series_ids", plan.series_ids),
        ):
            if ids:
                conditions.append(f"d.{column} && CAST(:{column} AS integer[])")
                params[column] = list(ids)
        if plan.language:
            conditions.append("d.language = :language")
            params["language"] = plan.language
        if plan.after:
            conditions.append("d.day >= :after")
            params["after"] = plan.after
        if plan.before:
            conditions.append("d.day <= :before")
            params["before"] = plan.before
        return " AND ".join(conditions), params

    @classmethod
    def _documents(cls, plan: Plan) -> tuple[str, str, dict[str, Any]]:
        """`search_documents d` as a FROM item with the plan's conditions: its words' matches
        found through the GIN index alone (in a subquery the planner cannot merge, OFFSET 0),
        the filters tested on those rows after. Given both, the planner may rather take a
        filter's index and test the words on each row: reading its toasted tsvector, 310 ms
        for "campaign" in Africa against 46 ms through the words' index."""
        if not tsquery_text(plan) or not plan.filtered:
            where, params = cls._where(plan)
            return "search_documents d", where, params
        words, params = cls._words(plan)
        filters, more = cls._filters(plan)
        source = (
            "(SELECT d.update_id, d.day, d.region_ids, d.speaker_ids, d.series_ids, d.language"
            f" FROM search_documents d WHERE {words} OFFSET 0) AS d"
        )
        return source, filters, params | more

    def count(self, session: Session, plan: Plan) -> int:
        source, where, params = self._documents(plan)
        sql = f"SELECT count(*) FROM {source} WHERE {where}"
        return session.execute(sa.text(sql), params).scalar_one()

    def facet_counts(self, session: Reader, plan: Plan, facet_of: Mapping[int, int]) -> FacetCounts:
        """Matches by year, and by facet region within each year, in one statement. Words:
        through search_documents' GIN index, with sequential scans off for the statement (the
        planner would rather read the whole table when most updates match, and matching a row
        there means reading its toasted tsvector, 5 kB for 600 words, which the index spares).
        A phrase's positions must be checked in each match's tsvector: in the rows of
        search_vectors, by whichever plan the planner prefers."""
        phrase = _has_phrase(plan)
        if phrase:
            source = _VECTORS_AND_DOCUMENTS
            where, params = self._where(plan, words="v")
        else:
            source, where, params = self._documents(plan)
        facets, counted = _facet_columns(facet_of)
        sql = (
            f"SELECT CAST(extract(year FROM d.day) AS integer), count(*){counted},"
            " (SELECT max(day) FROM search_documents)"
            f" FROM {source} WHERE {where} GROUP BY 1"
        )
        if phrase:
            # The planner's choice: a phrase reads the matches' rows of search_vectors either way.
            return _facets_from_rows(session.execute(sa.text(sql), params).all(), facets)
        # For this transaction: on a connection of its own, it ends with the count.
        session.execute(sa.text("SELECT set_config('enable_seqscan', 'off', true)"))
        try:
            rows = session.execute(sa.text(sql), params).all()
        finally:
            if isinstance(session, Session):
                session.execute(sa.text("SELECT set_config('enable_seqscan', 'on', true)"))
        return _facets_from_rows(rows, facets)

    def search(
        self,
        session: Session,
        plan: Plan,
        sort: str,
        limit: int,
        offset: int,
        ids_ready: IdsReady | None = None,
    ) -> list[Hit]:
        """The page's ids (`ids_ready` is told them), then its highlights and snippets."""
        if not tsquery_text(plan):
            where, params = self._where(plan)
            params |= {"limit": limit, "offset": offset}
            sql = (
                "SELECT update_id, title, left(body, 300) FROM search_documents d"
                f" WHERE {where} ORDER BY day DESC, update_id DESC LIMIT :limit OFFSET :offset"
            )
            rows = session.execute(sa.text(sql), params).all()
            return [_pg_hit(row, _shortened(row[2])) for row in rows]
        where, params = self._where(plan, words="v")
        score, order = _ranking(sort)
        # Matched and ranked in search_vectors' rows; search_documents joined only for the
        # filters and the date order.
        source = _VECTORS_AND_DOCUMENTS if sort == "date" or plan.filtered else "search_vectors v"
        day = ", d.day" if sort == "date" else ""
        ids = list(
            session.execute(
                sa.text(
                    f"SELECT v.update_id, {score} AS score{day} FROM {source} WHERE {where}"
                    f" ORDER BY {order} LIMIT :limit OFFSET :offset"
                ),
                params | {"limit": limit, "offset": offset},
            ).scalars()
        )
        if ids_ready is not None:
            ids_ready(ids)  # what the results show is read while the snippets are made
        if not ids:
            return []
        rows = session.execute(
            sa.text(
                f"SELECT d.update_id, {_HEADLINES} FROM search_documents d"
                " WHERE d.update_id = ANY(:ids)"
            ),
            {"query": params["query"], "ids": ids} | _headline_params(),
        ).all()
        hits = {row[0]: _pg_hit(row, row[2]) for row in rows}
        return [hits[update_id] for update_id in ids if update_id in hits]


# The heading highlighted whole, and up to two fragments of the text: computed for the page's
# rows alone (reading each row's body, which may be toasted).
_HEADLINES = (
    f"ts_headline('{CONFIG}', d.title, to_tsquery('{CONFIG}', :query), :title_options),"
    f" ts_headline('{CONFIG}', d.body, to_tsquery('{CONFIG}', :query), :options)"
)


def _headline_params() -> dict[str, str]:
    return {
        "options": (
            f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=12,"
            ' MaxFragments=2, FragmentDelimiter=" … "'
        ),
        "title_options": f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true",
    }


_VECTORS_AND_DOCUMENTS = "search_vectors v JOIN search_documents d ON d.update_id = v.update_id"


def _ranking(sort: str) -> tuple[str, str]:
    """The score (from `search_vectors v`) and the order of a page, by the names of a query's
    output: rank (ties: the newer update first), or date."""
    if sort == "relevance":
        return f"ts_rank(v.tsv, to_tsquery('{CONFIG}', :query))", "score DESC, update_id DESC"
    return "0", "day DESC, update_id DESC"


def _has_phrase(plan: Plan) -> bool:
    terms = [term for clause in plan.clauses for term in clause] + plan.excluded
    return any(len(term.words) > 1 for term in terms)


def _facet_columns(facet_of: Mapping[int, int]) -> tuple[list[int], str]:
    """The facet regions, and a count column for each: `region_ids` holds each update's
    regions and the regions above them, so a facet region's matches are those holding it."""
    facets = sorted(set(facet_of.values()))
    columns = "".join(
        f", count(*) FILTER (WHERE {int(region_id)} = ANY(d.region_ids))" for region_id in facets
    )
    return facets, columns


def _facets_from_rows(rows: Sequence[Sequence[Any]], facets: list[int]) -> FacetCounts:
    """Rows of (year, matches, one count per facet region..., the index's last day)."""
    counts = FacetCounts({}, {}, None)
    for year, matches, *by_facet, last_day in rows:
        counts.by_year[year] = matches
        counts.last_day = last_day
        for region_id, count in zip(facets, by_facet, strict=True):
            if count:
                counts.by_region[region_id] = counts.by_region.get(region_id, 0) + count
    return counts


SQLITE = SQLiteBackend()
POSTGRES = PostgresBackend()
