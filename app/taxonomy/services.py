"""Regions: seeding the tree, walking it, and finding region names in text. People by handle."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from . import m49
from .models import Person, Region, RegionAlias

HANDLE = re.compile(r"(?<![\w@.])@([a-z0-9_](?:[a-z0-9_.-]{0,37}[a-z0-9_])?)", re.IGNORECASE)


class TaxonomyError(ValueError):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def normalize(text: str) -> str:
    """Case- and accent-insensitive form of a name: "América Latina" -> "america latina"."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(text.casefold().split())


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalize(text)).strip("-")[:80] or "region"


def find_region(session: Session, slug: str) -> Region | None:
    return session.scalar(sa.select(Region).where(Region.slug == slug.strip().lower()))


def find_region_by_slug_or_alias(session: Session, slug: str) -> Region | None:
    """The region with this slug, else the one with an alias of which it is the slug: the
    coalition renamed some M49 regions, and "eastern-africa" still means Kenya's."""
    region = find_region(session, slug)
    if region is not None:
        return region
    # A slug's hyphens stand for spaces or punctuation; slugs hold no other LIKE wildcards.
    aliases = session.scalars(
        sa.select(RegionAlias).where(RegionAlias.normalized.like(slug.replace("-", "_")))
    )
    return next((alias.region for alias in aliases if slugify(alias.normalized) == slug), None)


def descendant_ids(session: Session, region: Region) -> set[int]:
    """The ids of `region` and every region below it."""
    tree = sa.select(Region.id).where(Region.id == region.id).cte(recursive=True)
    tree = tree.union_all(sa.select(Region.id).where(Region.parent_id == tree.c.id))
    return set(session.scalars(sa.select(tree.c.id)))


def ancestors(region: Region) -> list[Region]:
    """The regions above `region`, from the top down."""
    chain = []
    parent = region.parent
    while parent is not None:
        chain.insert(0, parent)
        parent = parent.parent
    return chain


def update_person(session: Session, person: Person, display_name: str, organisation: str) -> None:
    person.display_name = " ".join(display_name.split())[:200]
    person.organisation = " ".join(organisation.split())[:200]
    session.flush()


def list_regions(session: Session) -> list[Region]:
    return list(session.scalars(sa.select(Region).order_by(Region.name)))


def region_tree(session: Session) -> list[Region]:
    """Top-level regions with their children loaded (for pickers and the admin page)."""
    regions = session.scalars(
        sa.select(Region).options(selectinload(Region.children), selectinload(Region.aliases))
    ).all()
    return sorted((r for r in regions if r.parent_id is None), key=lambda r: r.name)


def ensure_region(session: Session, slug: str, name: str, parent: Region | None = None) -> Region:
    """The region with `slug`, created if missing."""
    region = find_region(session, slug)
    if region is None:
        region = Region(slug=slug, name=name, parent=parent)
        session.add(region)
        session.flush()
    return region


def add_alias(session: Session, region: Region, alias: str) -> RegionAlias | None:
    """Add `alias` to `region`; None when it already names this region."""
    alias = " ".join(alias.split())
    if not alias or len(alias) > 120:
        raise TaxonomyError("An alias needs 1 to 120 characters.", "alias")
    key = normalize(alias)
    existing = session.scalar(sa.select(RegionAlias).where(RegionAlias.normalized == key))
    if existing is not None:
        if existing.region_id == region.id:
            return None
        raise TaxonomyError(f"{alias!r} already names {existing.region.name}.", "alias")
    if normalize(region.name) == key:
        return None
    row = RegionAlias(region=region, alias=alias, normalized=key)
    session.add(row)
    session.flush()
    return row


def create_region(
    session: Session, name: str, parent_slug: str = "", aliases: Iterable[str] = ()
) -> Region:
    """A region of the coalition's own, under `parent_slug` (none: at the top)."""
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise TaxonomyError("The name needs 1 to 120 characters.", "name")
    parent = None
    if parent_slug:
        parent = find_region(session, parent_slug)
        if parent is None:
            raise TaxonomyError(f"There is no region {parent_slug!r}.", "parent")
    slug = slugify(name)
    if find_region(session, slug) is not None:
        raise TaxonomyError(f"A region {slug!r} exists already.", "name")
    if session.scalar(sa.select(RegionAlias).where(RegionAlias.normalized == normalize(name))):
        raise TaxonomyError(f"{name!r} is already an alias of another region.", "name")
    region = Region(slug=slug, name=name, parent=parent, kind="group")
    session.add(region)
    session.flush()
    for alias in aliases:
        add_alias(session, region, alias)
    return region


def seed_regions(session: Session) -> int:
    """Create the M49 tree, its countries and the coalition's names; idempotent. Returns how
    many regions were added."""
    by_code = {
        r.code: r for r in session.scalars(sa.select(Region).where(Region.code.is_not(None)))
    }
    taken = set(session.scalars(sa.select(RegionAlias.normalized)))
    taken |= {normalize(name) for name in session.scalars(sa.select(Region.name))}
    added = 0
    for seed in m49.seeds():
        region = by_code.get(seed.code)
        if region is None:
            slug = slugify(seed.name)
            if slug in {r.slug for r in by_code.values()}:
                slug = f"{slug}-{seed.code.lower()}"
            region = Region(
                slug=slug,
                name=seed.name,
                code=seed.code,
                kind=seed.kind,
                parent=by_code.get(seed.parent_code) if seed.parent_code else None,
            )
            session.add(region)
            by_code[seed.code] = region
            taken.add(normalize(seed.name))
            added += 1
        for alias in seed.aliases:
            key = normalize(alias)
            if key not in taken:
                region.aliases.append(RegionAlias(alias=alias, normalized=key))
                taken.add(key)
    session.flush()
    return added


TOKEN = re.compile(r"(\w+)|[^\w\s]")
# Words that join region names in a list ("Kenya and Uganda", "Guiné-Bissau e Cabo Verde"), and
# articles that may precede a name ("the Philippines", "The Gambia", "l'Ouganda").
CONNECTORS = frozenset({"and", "et", "y", "e", "&", "/", ",", "+"})
ARTICLES = frozenset({"the", "le", "la", "les", "l", "'", "el", "los", "las", "o", "os", "a", "as"})
JOINERS = CONNECTORS | ARTICLES
STRIP = " \t:;,.-–—"


class Token(NamedTuple):
    text: str
    folded: str  # as `normalize` makes it
    start: int
    end: int
    is_word: bool


@functools.lru_cache(maxsize=65536)
def _fold(token: str) -> str:
    return normalize(token)


def tokenize(text: str) -> list[Token]:
    """The words and punctuation marks of `text`, each also case- and accent-folded."""
    text = text.replace("’", "'")
    make = tuple.__new__  # Token's own __new__ is Python code: a third of the time here
    return [
        make(Token, (match[0], _fold(match[0]), match.start(), match.end(), match[1] is not None))
        for match in TOKEN.finditer(text)
    ]


class _Names:
    """Names as tuples of tokens, with every prefix, so that a scan stops as soon as no longer
    name can match."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, ...], int] = {}
        self.prefixes: set[tuple[str, ...]] = set()

    def add(self, key: tuple[str, ...], region_id: int) -> None:
        if key and key not in self.ids:
            self.ids[key] = region_id
            self.prefixes.update(key[:n] for n in range(1, len(key)))


class RegionMatcher:
    """Finds region names and aliases in text, longest first, as whole words.

    Matching ignores case and accents, except for all-capital aliases of up to three letters
    ("UK", "DRC", "LAC"), which must appear in capitals: "us" in a sentence is not a country.
    Names that also begin the names of organisations ("World Bank", "International Legal
    Foundation") name a region only as a whole title (`m49.TITLE_ONLY`).

    The text is split into words once; each word starts a lookup of ever longer runs of words
    in a dictionary of names (one regular expression of ~900 names was far slower).
    """

    def __init__(self, names: Iterable[tuple[str, int]], country_ids: Iterable[int] = ()) -> None:
        self.country_ids = set(country_ids)
        self.exact = _Names()  # by the words as written
        self.folded = _Names()  # by the folded words
        for name, region_id in names:
            tokens = tokenize(name)
            if name.isupper() and len(name.replace(".", "")) <= 3:
                self.exact.add(tuple(t.text for t in tokens), region_id)
            else:
                self.folded.add(tuple(t.folded for t in tokens), region_id)
        self.title_only = {tuple(t.folded for t in tokenize(name)) for name in m49.TITLE_ONLY}
        # The words a name can begin with: a scan looks up names only at these.
        self.first_exact = {key[0] for key in self.exact.ids}
        self.first_folded = {key[0] for key in self.folded.ids}

    def _match_at(
        self, tokens: list[Token], start: int, *, title_only: bool = False
    ) -> tuple[int, int] | None:
        """(region id, number of tokens) of the longest name starting at token `start`."""
        best = None
        for names, form in ((self.exact, "text"), (self.folded, "folded")):
            key: tuple[str, ...] = ()
            for index in range(start, len(tokens)):
                key += (getattr(tokens[index], form),)
                region_id = names.ids.get(key)
                if (
                    region_id is not None
                    and (best is None or len(key) > best[1])
                    and (title_only or key not in self.title_only)
                    and self._bounded(tokens, start, index + 1)
                ):
                    best = (region_id, len(key))
                if key not in names.prefixes:
                    break
        return best

    @staticmethod
    def _bounded(tokens: list[Token], start: int, end: int) -> bool:
        """Whether tokens[start:end] stand as whole words: not glued to a word before or after,
        nor to an "@" (a handle, an e-mail address), and followed by an apostrophe only as a
        possessive "'s" ("Kenya's")."""
        first, last = tokens[start], tokens[end - 1]
        before = tokens[start - 1] if start else None
        if (
            before
            and before.end == first.start
            and (before.text == "@" or (before.is_word and not first.is_word))
        ):
            return False
        if end < len(tokens) and tokens[end].start == last.end:
            after = tokens[end]
            if after.text == "@" or (after.is_word and not last.is_word):
                return False
            if after.text == "'" and end + 1 < len(tokens):
                word = tokens[end + 1]
                if word.start == after.end and word.is_word and word.folded != "s":
                    return False
        return True

    def _scan(self, tokens: list[Token]) -> Iterator[tuple[int, int, int]]:
        """(first token, number of tokens, region id) of each name in `tokens`, in order.

        Words that share the ending of the name after them count as names of their own: "East
        and Southern Africa" names East Africa and Southern Africa.
        """
        index = 0
        first_exact, first_folded = self.first_exact, self.first_folded
        while index < len(tokens):
            token = tokens[index]
            if token.folded not in first_folded and token.text not in first_exact:
                index += 1  # no name begins with this word, nor does a shared ending
                continue
            match = self._match_at(tokens, index)
            if match is not None:
                yield index, match[1], match[0]
                index += match[1]
                continue
            yield from self._shared_ending(tokens, index)
            index += 1

    def _shared_ending(self, tokens: list[Token], index: int) -> Iterator[tuple[int, int, int]]:
        """For "East" in "East, West and Southern Africa": East Africa."""
        position = index
        while position + 2 < len(tokens):
            word, joiner = tokens[position], tokens[position + 1]
            if not word.is_word or joiner.folded not in CONNECTORS:
                return
            position += 2
            match = self._match_at(tokens, position)
            if match is not None:
                if match[1] > 1:
                    ending = tuple(t.folded for t in tokens[position + 1 : position + match[1]])
                    region_id = self.folded.ids.get((tokens[index].folded, *ending))
                    if region_id is not None:
                        yield index, 1, region_id
                return

    def find(self, text: str) -> list[int]:
        """Region ids mentioned in `text`, in order of first mention."""
        return list(dict.fromkeys(region_id for _, _, region_id in self._scan(tokenize(text))))

    def lookup(self, text: str) -> int | None:
        """The region that `text` names as a whole ("Asia", "LatAm", "the Philippines")."""
        tokens = tokenize(text.strip(STRIP))
        while tokens:
            match = self._match_at(tokens, 0, title_only=True)
            if match is not None and match[1] == len(tokens):
                return match[0]
            if tokens[0].folded not in ARTICLES:
                return None
            tokens = tokens[1:]
        return None

    def names(self, text: str) -> list[int]:
        """The regions `text` consists of: one name, or several joined by "and", "y", "et",
        "e", "&", "/" or commas ("Senegal and The Gambia"); [] if it holds anything else."""
        whole = self.lookup(text)
        if whole is not None:
            return [whole]
        tokens = tokenize(text.strip(STRIP))
        covered: set[int] = set()
        found = []
        for start, length, region_id in self._scan(tokens):
            covered.update(range(start, start + length))
            found.append(region_id)
        rest = (t.folded for i, t in enumerate(tokens) if i not in covered)
        if not found or any(word not in JOINERS for word in rest):
            return []
        return list(dict.fromkeys(found))


def region_matcher(session: Session) -> RegionMatcher:
    names = [(name, rid) for name, rid in session.execute(sa.select(Region.name, Region.id))]
    aliases = session.execute(sa.select(RegionAlias.alias, RegionAlias.region_id))
    names += [(alias, rid) for alias, rid in aliases]
    countries = session.scalars(sa.select(Region.id).where(Region.kind == "country"))
    return RegionMatcher(names, countries)


def find_handles(text: str) -> list[str]:
    """@handles in `text`, lower-cased, in order of first mention (emails are not handles)."""
    seen: list[str] = []
    for match in HANDLE.finditer(text):
        handle = match.group(1).lower()
        if handle not in seen:
            seen.append(handle)
    return seen


def find_person(session: Session, handle: str) -> Person | None:
    return session.scalar(
        sa.select(Person).where(Person.handle == handle.strip().lstrip("@").lower())
    )
