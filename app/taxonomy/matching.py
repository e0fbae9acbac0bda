"""Finding the places a text names: region names and aliases, demonyms and major cities.

Two questions are asked of text. `names` and `lookup`: does a title or a bullet's lead consist of
region names ("Asia", "Senegal and The Gambia")? `find` and `mentions`: which places does a
sentence name ("Taiwanese lawyers", "a workshop in Nairobi", "Tbilisi, Georgia")?

Ambiguous names, and how they are read:
- **Georgia** is the country, except as the US state: after a town the gazetteer does not
  place in Georgia ("Atlanta, Georgia"), before "State" or after "state of", or followed by
  "USA"/"US".
- **Chad, Jordan, Georgia, India** are also first names: followed at once by another
  capitalised word that begins no place name ("Chad Miller"), they are a person.
- **Niger / Nigeria** and **Guinea / Guinea-Bissau / Equatorial Guinea / Papua New Guinea** are
  told apart by matching whole words, longest name first; "Niger Delta" is in Nigeria.
- **Congo** alone cannot tell the Republic of the Congo from the DR Congo: it names Central
  Africa, where both are; "DRC", "DR Congo", "Congo-Brazzaville" name the countries.
- **Türkiye / Turkey** both name the country (CLDR's English name is now "Türkiye").
- **"Columbia"** (a university, a Canadian province, a US district) is never Colombia.
- Demonyms that are also languages ("Spanish", "French") name the country only where they
  qualify a word that is not about language ("the French government", not "in French" or
  "the French version").
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import gazetteer, m49
from .models import Region, RegionAlias
from .services import normalize

TOKEN = re.compile(r"(\w+)|[^\w\s]")
FIRST_WORD = re.compile(r"\w+")
# Words that join region names in a list ("Kenya and Uganda", "Guiné-Bissau e Cabo Verde"), and
# articles that may precede a name ("the Philippines", "The Gambia", "l'Ouganda").
CONNECTORS = frozenset({"and", "et", "y", "e", "&", "/", ",", "+"})
ARTICLES = frozenset({"the", "le", "la", "les", "l", "'", "el", "los", "las", "o", "os", "a", "as"})
JOINERS = CONNECTORS | ARTICLES
STRIP = " \t:;,.-–—"
# Countries whose names are also first names ("Chad Miller", "Jordan Peters").
FIRST_NAMES = frozenset({"chad", "jordan", "georgia", "india"})
US_MARKERS = frozenset({"usa", "us"})
# Words after which a first name is someone written to ("send Chad the figures").
PERSON_VERBS = frozenset(
    {"send", "ask", "thank", "thanks", "contact", "email", "tell", "cc", "invite", "with", "to"}
)


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


@dataclasses.dataclass(frozen=True)
class Entry:
    region_id: int
    kind: str  # "name" (a region's name or alias) | "demonym" | "city"


class _Names:
    """Names as tuples of tokens, with every prefix, so that a scan stops as soon as no longer
    name can match."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, ...], Entry] = {}
        self.prefixes: set[tuple[str, ...]] = set()

    def add(self, key: tuple[str, ...], entry: Entry) -> None:
        if key and key not in self.entries:
            self.entries[key] = entry
            self.prefixes.update(key[:n] for n in range(1, len(key)))


class Match(NamedTuple):
    start: int  # first token
    length: int  # number of tokens
    region_id: int
    kind: str = "name"  # as Entry.kind


class RegionMatcher:
    """Finds region names, aliases, demonyms and cities in text, longest first, as whole words.

    Matching ignores case and accents, except for all-capital aliases of up to three letters
    ("UK", "DRC", "LAC"), which must appear in capitals ("us" in a sentence is not a country),
    and for cities and demonyms, which must begin with a capital. Names that also begin the
    names of organisations ("World Bank", "International Legal Foundation") name a region only
    as a whole title (`m49.TITLE_ONLY`).

    The text is split into words once; each word starts a lookup of ever longer runs of words
    in a dictionary of names.
    """

    def __init__(
        self,
        names: Iterable[tuple[str, int]],
        country_ids: Iterable[int] = (),
        places: Iterable[tuple[str, int, str]] = (),
        special: dict[str, int] | None = None,
    ) -> None:
        self.country_ids = set(country_ids)
        # Region ids by role: "world" (the root, named by "Global"), "us", "georgia".
        self.special = special or {}
        self.exact = _Names()  # by the words as written
        self.folded = _Names()  # by the folded words
        for name, region_id in names:
            self._add(name, Entry(region_id, "name"))
        for name, region_id, kind in places:
            self._add(name, Entry(region_id, kind))
        self.title_only = {tuple(t.folded for t in tokenize(name)) for name in m49.TITLE_ONLY}
        # The words a name can begin with: a scan looks up names only at these.
        self.first_exact = {key[0] for key in self.exact.entries}
        self.first_folded = {key[0] for key in self.folded.entries}
        self.first_or_article = self.first_folded | ARTICLES
        # Every word of every name, and the words that may join names: a text with any other
        # word does not consist of names.
        self.name_words = {word for key in self.folded.entries for word in key} | JOINERS
        self.name_words |= {word.casefold() for key in self.exact.entries for word in key}
        self.languages = gazetteer.language_names()

    def _add(self, name: str, entry: Entry) -> None:
        tokens = tokenize(name)
        if (name.isupper() and len(name.replace(".", "")) <= 3) or name in m49.AS_WRITTEN:
            self.exact.add(tuple(t.text for t in tokens), entry)
        else:
            self.folded.add(tuple(t.folded for t in tokens), entry)

    def _match_at(
        self, tokens: list[Token], start: int, *, title_only: bool = False
    ) -> tuple[int, int, str] | None:
        """(region id, number of tokens, kind) of the longest name starting at token `start`."""
        best = None
        for names, form in ((self.exact, "text"), (self.folded, "folded")):
            key: tuple[str, ...] = ()
            for index in range(start, len(tokens)):
                key += (getattr(tokens[index], form),)
                entry = names.entries.get(key)
                if (
                    entry is not None
                    and (best is None or len(key) > best[1])
                    and (title_only or key not in self.title_only)
                    and self._bounded(tokens, start, index + 1)
                    and self._fits(entry, tokens, start, index + 1)
                ):
                    best = (entry.region_id, len(key), entry.kind)
                if key not in names.prefixes:
                    break
        return best

    def _fits(self, entry: Entry, tokens: list[Token], start: int, end: int) -> bool:
        """Whether a demonym or city is written as one (capitalised) and a demonym that is also
        a language qualifies a word ("the French government", not "in French")."""
        if entry.kind == "name":
            return True
        first = tokens[start]
        if not first.text[:1].isupper():
            return False
        if entry.kind != "demonym" or tokens[end - 1].folded not in self.languages:
            return True
        before = tokens[start - 1].folded if start else ""
        after_index = end
        # "the Vietnamese and Lao partners": the word qualified comes after the list.
        while (
            after_index + 1 < len(tokens)
            and tokens[after_index].folded in CONNECTORS
            and tokens[after_index + 1].text[:1].isupper()
        ):
            after_index += 2
        after = tokens[after_index] if after_index < len(tokens) else None
        return (
            before not in gazetteer.LANGUAGE_VERBS
            and after is not None
            and after.is_word
            and after.start > tokens[after_index - 1].end  # not "Spanish-speaking"
            and after.folded not in gazetteer.LANGUAGE_CONTEXT
            and after.folded not in CONNECTORS
        )

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

    def _scan(self, tokens: list[Token]) -> Iterator[Match]:
        """Each name in `tokens`, in order.

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
                region_id = self._read(tokens, index, match[1], match[0])
                if region_id is not None:
                    yield Match(index, match[1], region_id, match[2])
                index += match[1]
                continue
            yield from self._shared_ending(tokens, index)
            index += 1

    def _read(self, tokens: list[Token], start: int, length: int, region_id: int) -> int | None:
        """The place a name found at `start` stands for here: None for a person named like a
        country, the United States for the US state of Georgia."""
        end = start + length
        after = tokens[end] if end < len(tokens) else None
        if (
            length == 1
            and tokens[start].folded in FIRST_NAMES
            and after is not None
            and after.is_word
            and after.text[:1].isupper()
            and after.start == tokens[start].end + 1
            and self._match_at(tokens, end) is None
            and after.folded != "state"
        ):
            return None  # "Chad Miller", "Jordan Peters"
        if length == 1 and tokens[start].folded in FIRST_NAMES and self._addressed(tokens, start):
            return None  # "send Chad the figures", "Jordan (jordan@example.org)"
        if region_id == self.special.get("georgia") and self._is_us_state(tokens, start, end):
            return self.special.get("us")
        return region_id

    @staticmethod
    def _addressed(tokens: list[Token], start: int) -> bool:
        """Whether a first name is a person spoken to or of: after a verb of writing to
        someone, or before their address or handle in brackets."""
        before = tokens[start - 1].folded if start else ""
        after = [t.text for t in tokens[start + 1 : start + 3]]
        if before in PERSON_VERBS:
            return True
        return after[:1] == ["("] and len(after) > 1 and (after[1] == "@" or "@" in after[1])

    def _is_us_state(self, tokens: list[Token], start: int, end: int) -> bool:
        before = [t.folded for t in tokens[max(0, start - 2) : start]]
        after = [t.folded for t in tokens[end : end + 2]]
        if before == ["state", "of"] or after[:1] == ["state"]:
            return True
        if len(after) == 2 and after[0] in (",", "(") and after[1] in US_MARKERS:
            return True
        if start >= 2 and tokens[start - 1].text == "," and tokens[start - 2].is_word:
            # "Tbilisi, Georgia" is the country, "Atlanta, Georgia" the state.
            countries = gazetteer.town_countries(tokens[start - 2].text)
            return "US" in countries and "GE" not in countries
        return False

    def _shared_ending(self, tokens: list[Token], index: int) -> Iterator[Match]:
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
                    entry = self.folded.entries.get((tokens[index].folded, *ending))
                    if entry is not None:
                        yield Match(index, 1, entry.region_id)
                return

    def find(self, text: str, *, places: bool = True) -> list[int]:
        """Region ids named in `text`, in order of first mention; `places`: also those named
        by a demonym or a city ("Kenyan", "Nairobi"), not only by a region's name."""
        return list(
            dict.fromkeys(
                match.region_id
                for match in self._scan(tokenize(text))
                if places or match.kind == "name"
            )
        )

    def mentions(self, text: str) -> list[int]:
        """The places a text names in its sentences, in order of first mention: as `find`, but
        not the world ("global" is an adjective in a sentence)."""
        world = self.special.get("world")
        return [region_id for region_id in self.find(text) if region_id != world]

    def lookup(self, text: str) -> int | None:
        """The region that `text` names as a whole ("Asia", "LatAm", "the Philippines")."""
        return self._whole(tokenize(text.strip(STRIP)))

    def _whole(self, tokens: list[Token]) -> int | None:
        while tokens:
            match = self._match_at(tokens, 0, title_only=True)
            if match is not None and match[1] == len(tokens):
                return self._read(tokens, 0, match[1], match[0])
            if tokens[0].folded not in ARTICLES:
                return None
            tokens = tokens[1:]
        return None

    def names(self, text: str) -> list[int]:
        """The regions `text` consists of: one name, or several joined by "and", "y", "et",
        "e", "&", "/" or commas ("Senegal and The Gambia"); [] if it holds anything else."""
        first = FIRST_WORD.search(text)
        if first is None:
            return []
        word = first.group(0)
        if word not in self.first_exact and _fold(word) not in self.first_or_article:
            return []  # the usual case, a bullet of text: no name starts with its first word
        if any(_fold(w) not in self.name_words for w in FIRST_WORD.findall(text)):
            return []  # a word no name has: "Kenya 2024", "Kenya paralegals"
        tokens = tokenize(text.strip(STRIP))
        whole = self._whole(tokens)
        if whole is not None:
            return [whole]
        covered: set[int] = set()
        found = []
        for match in self._scan(tokens):
            covered.update(range(match.start, match.start + match.length))
            found.append(match.region_id)
        rest = (t.folded for i, t in enumerate(tokens) if i not in covered)
        if not found or any(word not in JOINERS for word in rest):
            return []
        return list(dict.fromkeys(found))


def region_matcher(session: Session) -> RegionMatcher:
    """A matcher of the regions' names and aliases, and the gazetteer's demonyms and cities of
    the countries and groups the tree has."""
    names = [(name, rid) for name, rid in session.execute(sa.select(Region.name, Region.id))]
    aliases = session.execute(sa.select(RegionAlias.alias, RegionAlias.region_id))
    names += [(alias, rid) for alias, rid in aliases]
    rows = session.execute(sa.select(Region.id, Region.code, Region.kind)).all()
    by_code = {code: rid for rid, code, _ in rows if code}
    countries = [rid for rid, _, kind in rows if kind == "country"]
    places = [
        (name.text, by_code[name.code], name.kind)
        for name in (*gazetteer.demonyms(), *gazetteer.cities())
        if name.code in by_code
    ]
    special = {
        role: by_code[code] for role, code in (("world", "001"), ("us", "US"), ("georgia", "GE"))
        if code in by_code
    }  # fmt: skip
    return RegionMatcher(names, countries, places, special)
