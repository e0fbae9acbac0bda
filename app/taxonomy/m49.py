"""The UN M49 region tree with its countries, and the coalition's own names for regions.

Countries and the M49 sub-region each belongs to come from country_converter's table (read as
a plain TSV file; its pandas API is not needed). The tree above the sub-regions is the M49
standard's own grouping, keyed by M49 codes. Names and aliases in English, Spanish, French and
Portuguese come from CLDR through Babel, so "Kenia", "Afrique de l'Ouest", "Latinoamérica" and
"Moçambique" are recognised too.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from babel import Locale

ALIAS_LOCALES = ("en", "es", "fr", "pt")

# (M49 code, English name, parent code); the world is "001".
M49_GROUPS: tuple[tuple[str, str, str | None], ...] = (
    ("001", "World", None),
    ("002", "Africa", "001"),
    ("015", "Northern Africa", "002"),
    ("202", "Sub-Saharan Africa", "002"),
    ("014", "Eastern Africa", "202"),
    ("017", "Middle Africa", "202"),
    ("018", "Southern Africa", "202"),
    ("011", "Western Africa", "202"),
    ("019", "Americas", "001"),
    ("419", "Latin America and the Caribbean", "019"),
    ("029", "Caribbean", "419"),
    ("013", "Central America", "419"),
    ("005", "South America", "419"),
    ("021", "Northern America", "019"),
    ("142", "Asia", "001"),
    ("143", "Central Asia", "142"),
    ("030", "Eastern Asia", "142"),
    ("035", "South-eastern Asia", "142"),
    ("034", "Southern Asia", "142"),
    ("145", "Western Asia", "142"),
    ("150", "Europe", "001"),
    ("151", "Eastern Europe", "150"),
    ("154", "Northern Europe", "150"),
    ("039", "Southern Europe", "150"),
    ("155", "Western Europe", "150"),
    ("009", "Oceania", "001"),
    ("053", "Australia and New Zealand", "009"),
    ("054", "Melanesia", "009"),
    ("057", "Micronesia", "009"),
    ("061", "Polynesia", "009"),
    ("010", "Antarctica", "001"),
)

# The coalition's names: a display name replacing the M49 one, and extra aliases.
COALITION_NAMES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "001": (
        "Global",
        ("World", "Worldwide", "International", "Global updates", "International updates"),
    ),
    "419": (
        "Latin America",
        ("LatAm", "LATAM", "América Latina", "Latin America and the Caribbean", "LAC"),
    ),
    "011": ("West Africa", ("Western Africa", "Afrique de l'Ouest", "África Occidental")),
    "014": ("East and Horn of Africa", ("East Africa", "Eastern Africa", "Horn of Africa")),
    # "Congo" alone cannot tell the two Congos apart; both are in Central Africa.
    "017": ("Central Africa", ("Middle Africa", "Congo")),
    "018": (None, ("Southern Africa",)),
    "015": ("North Africa", ("Northern Africa", "MENA")),
    "202": (None, ("Sub-Saharan Africa", "SSA")),
    "021": ("North America", ("Northern America",)),
    "035": ("Southeast Asia", ("South-East Asia", "South-eastern Asia", "ASEAN")),
    "034": ("South Asia", ("Southern Asia",)),
    "030": ("East Asia", ("Eastern Asia",)),
    "145": ("Middle East", ("Western Asia",)),
    "142": (None, ("Asia-Pacific", "Asia Pacific", "APAC")),
}

# Short forms of country names that CLDR and the table do not give.
COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "US": ("US", "USA", "U.S.", "United States of America", "EUA", "EEUU", "EE. UU."),
    "GB": ("UK", "U.K.", "Britain", "Great Britain"),
    "CD": (
        "DRC",
        "DR Congo",
        "Democratic Republic of the Congo",
        "RDC",  # French, Spanish and Portuguese
        "RD Congo",
        "République démocratique du Congo",
        "República Democrática do Congo",
    ),
    "LA": ("Lao PDR",),
    "PG": ("PNG",),
    "CG": ("Republic of the Congo", "Congo-Brazzaville"),
    "CI": ("Côte d'Ivoire", "Cote d'Ivoire", "Ivory Coast"),
    "AE": ("UAE",),
    "TR": ("Turkey",),  # CLDR's English name is now "Türkiye"
    "NG": ("Niger Delta",),  # the delta of the Niger river lies in Nigeria, not in Niger
}

# Names that also begin the names of organisations ("World Bank", "International Legal
# Foundation") or common phrases ("tout le monde", "todo el mundo"): they name a region only as a
# whole title ("World:", "## International").
TITLE_ONLY = ("World", "Worldwide", "International", "Internacional", "Monde", "Mundo")


@dataclasses.dataclass(frozen=True)
class RegionSeed:
    code: str  # M49 code for groups, ISO 3166 alpha-2 for countries
    name: str
    parent_code: str | None
    kind: str  # "group" or "country"
    aliases: tuple[str, ...]


# CLDR names that are also everyday words in notes: Portuguese "reunião" is a meeting.
NOT_NAMES = frozenset({"Reunião", "Reunión"})
# Names that are everyday words once their accents are dropped (French "réunion", Spanish
# "reunión": a meeting): they name the place only as written, accent and capital included.
AS_WRITTEN = frozenset({"Réunion", "La Réunion"})
# Names CLDR gives one country in one language that stand for another place in notes: Spanish
# CLDR calls the Republic of the Congo "Congo", which in English notes means either Congo.
NOT_COUNTRY_NAMES = frozenset({"Congo"})


def _babel_names(code: str) -> set[str]:
    names = set()
    for locale in ALIAS_LOCALES:
        name = Locale.parse(locale).territories.get(code)
        if name and name not in NOT_NAMES and name not in NOT_COUNTRY_NAMES:
            names.add(name)
    return names


KEPT_COLUMNS = ("name_short", "name_official", "UNregion")


@cache
def countries() -> list[dict[str, str]]:
    # Found without importing the package, which imports pandas (30 MB a process).
    spec = importlib.util.find_spec("country_converter")
    assert spec is not None and spec.submodule_search_locations
    table = Path(spec.submodule_search_locations[0]) / "country_data.tsv"
    with table.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    countries = []
    for row in rows:
        # A few ISO2 cells hold a pattern ("^GB$|^UK$"): the first code is the ISO one.
        code = re.search(r"[A-Z]{2}", row["ISO2"])
        if code and row["UNregion"] and not row["obsolete"]:
            # Only the columns used: the table has dozens, kept for the life of the process.
            countries.append({key: row[key] for key in KEPT_COLUMNS} | {"ISO2": code.group(0)})
    return countries


def seeds() -> Iterator[RegionSeed]:
    """Every region of the tree, parents before children."""
    by_name = {name: code for code, name, _ in M49_GROUPS}
    for code, name, parent in M49_GROUPS:
        display, extra = COALITION_NAMES.get(code, (None, ()))
        others = sorted((_babel_names(code) | {name}) - set(extra))
        # The coalition's spellings first: of two names that differ only in case, the first
        # one seeded is kept ("LatAm" rather than "LATAM").
        aliases = [alias for alias in (*extra, *others) if alias != (display or name)]
        yield RegionSeed(code, display or name, parent, "group", tuple(aliases))
    for row in countries():
        parent = by_name.get(row["UNregion"])
        if parent is None:
            continue
        iso2 = row["ISO2"]
        names = {row["name_short"], row["name_official"]} | _babel_names(iso2)
        names |= set(COUNTRY_ALIASES.get(iso2, ()))
        name = row["name_short"]
        yield RegionSeed(iso2, name, parent, "country", tuple(sorted(names - {name})))
