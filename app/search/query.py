"""The search query language, parsed into terms and filters; no backend ever sees the raw text.

    paralegals "legal aid" -funding Escazú OR Escazu region:africa @rina after:2025-01-01

Words and "phrases" must all match; `OR` between two of them makes either do; a leading `-`
excludes a word or phrase. Filters: `region:<slug>` (with the regions below it), `speaker:@handle`
or `@handle`, `series:<slug>`, `after:` and `before:` (dates, inclusive), `lang:<code>`. A filter
given twice matches either value. Quotes left open are closed at the end of the text. Words
and phrases made only of stop words (`stopwords.STOPWORDS`) are left out, on both backends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from .stopwords import STOPWORDS, unaccented

MAX_QUERY_LENGTH = 500
MAX_TERMS = 16
FILTERS = ("region", "speaker", "series", "after", "before", "lang")
_TOKEN = re.compile(r'-?"[^"]*(?:"|$)|[^\s"]+|"')
_WORD_CHARS = re.compile(r"\w+")
_HANDLE = re.compile(r"@?([a-z0-9_](?:[a-z0-9_.-]{0,37}[a-z0-9_])?)", re.IGNORECASE)
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?")


class QueryError(ValueError):
    """Search input that cannot be used; the message says why, for the person who typed it."""

    def __init__(self, message: str, field: str = "q") -> None:
        super().__init__(message)
        self.field = field


@dataclasses.dataclass(frozen=True)
class Term:
    """A word, or a phrase of several words, as the person typed it."""

    text: str
    phrase: bool = False

    @property
    def words(self) -> list[str]:
        return _WORD_CHARS.findall(self.text.lower())


@dataclasses.dataclass
class Query:
    """All `clauses` must match (each clause: any of its terms); no `excluded` term may."""

    clauses: list[list[Term]] = dataclasses.field(default_factory=list)
    excluded: list[Term] = dataclasses.field(default_factory=list)
    regions: list[str] = dataclasses.field(default_factory=list)
    speakers: list[str] = dataclasses.field(default_factory=list)
    series: list[str] = dataclasses.field(default_factory=list)
    after: dt.date | None = None
    before: dt.date | None = None
    language: str | None = None
    stopwords: list[str] = dataclasses.field(default_factory=list)  # left out of the search
    notices: list[str] = dataclasses.field(default_factory=list)

    @property
    def has_text(self) -> bool:
        return bool(self.clauses)

    @property
    def has_filters(self) -> bool:
        return bool(
            self.regions or self.speakers or self.series or self.after or self.before
        ) or bool(self.language)


def is_stopword_term(term: Term) -> bool:
    """A word or phrase made only of stop words: PostgreSQL would drop it, so neither backend
    searches it."""
    return all(unaccented(word) in STOPWORDS for word in term.words)


def parse_date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        field = {"from": "after", "to": "before"}.get(name, name)
        raise QueryError(
            f"{name}: {value[:40]!r} is not a date such as 2025-03-31.", field
        ) from None


def parse(text: str) -> Query:
    """The query in `text`; QueryError when it cannot be used at all."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"The search is too long: at most {MAX_QUERY_LENGTH} characters.")
    if "\x00" in text:
        raise QueryError("The search holds a NUL character.")
    query = Query()
    pending_or = False
    if text.count('"') % 2:
        query.notices.append("A quote was left open; it was closed at the end of the search.")
    for token in _TOKEN.findall(text):
        if token == "OR":
            pending_or = bool(query.clauses)
            continue
        negated = token.startswith("-") and len(token) > 1
        body = token[1:] if negated else token
        if body.startswith('"'):
            term = Term(body.strip('"'), phrase=True)
        elif not negated and _add_filter(query, body):
            pending_or = False
            continue
        else:
            term = Term(body)
        if not term.words:
            continue  # punctuation only: nothing a search could match
        if len(term.words) > 1 and not term.phrase:
            term = Term(term.text, phrase=True)  # "e-mail", "co-op": the words side by side
        if is_stopword_term(term):
            query.stopwords.append(term.text)  # as if not typed: "Recife OR the Nairobi"
            continue
        if negated:
            query.excluded.append(term)
        elif pending_or:
            query.clauses[-1].append(term)
        else:
            query.clauses.append([term])
        pending_or = False
    terms = sum(len(clause) for clause in query.clauses) + len(query.excluded)
    if terms > MAX_TERMS:
        raise QueryError(f"The search has {terms} words or phrases: at most {MAX_TERMS}.")
    return query


def without_filters(text: str) -> str:
    """The search text with its filters (`region:…`, `@handle`, …) taken out, the rest as
    typed: the same words searched everywhere."""
    return " ".join(token for token in _TOKEN.findall(text) if not _is_filter(token))


def _is_filter(token: str) -> bool:
    if token.startswith("@"):
        return len(token) > 1
    name, colon, value = token.partition(":")
    return bool(colon and value) and name.lower() in FILTERS


def _add_filter(query: Query, token: str) -> bool:
    """Apply `token` to the query when it is a filter; False when it is a word to search for."""
    if not _is_filter(token):
        return False
    if token.startswith("@"):
        add_speaker(query, token)
    else:
        name, _colon, value = token.partition(":")
        add_filter(query, name.lower(), value)
    return True


def add_filter(query: Query, name: str, value: str) -> None:
    """Apply one filter from the search text or from a form field of the same name."""
    value = value.strip()
    if not value:
        return
    if name == "region":
        _add_slug(query.regions, name, value, "a region's")
    elif name == "speaker":
        add_speaker(query, value)
    elif name == "series":
        _add_slug(query.series, name, value, "a series'")
    elif name == "after":
        query.after = parse_date(value, "after")
    elif name == "before":
        query.before = parse_date(value, "before")
    elif name == "lang":
        language = value.lower()
        if not _LANGUAGE.fullmatch(language):
            raise QueryError(f"lang: {value[:40]!r} is not a language code such as en.", "lang")
        query.language = language
    else:  # pragma: no cover - callers pass names from FILTERS
        raise QueryError(f"Unknown filter {name!r}.")


def _add_slug(slugs: list[str], name: str, value: str, whose: str) -> None:
    slug = value.lower()
    if not _SLUG.fullmatch(slug):
        raise QueryError(f"{name}: {value[:40]!r} is not {whose} name in a URL.", name)
    if slug not in slugs:
        slugs.append(slug)


def add_speaker(query: Query, value: str) -> None:
    match = _HANDLE.fullmatch(value.strip())
    if match is None:
        raise QueryError(f"speaker: {value[:40]!r} is not a handle such as @rina.", "speaker")
    handle = match.group(1).lower()
    if handle not in query.speakers:
        query.speakers.append(handle)
