"""Finding region names in text (RegionMatcher), and seeding the region tree."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.taxonomy.matching import RegionMatcher
from app.taxonomy.models import Region, RegionAlias
from app.taxonomy.services import find_region, seed_regions

NAMES = {
    "Global": 1,
    "World": 1,
    "International": 1,
    "Africa": 2,
    "East Africa": 3,
    "Southern Africa": 4,
    "West Africa": 5,
    "South Africa": 6,
    "Kenya": 10,
    "Niger": 11,
    "Nigeria": 12,
    "Guinea": 13,
    "Guinea-Bissau": 14,
    "Ouganda": 15,
    "Philippines": 16,
    "Gambia": 17,
    "Bosnia and Herzegovina": 18,
    "Serbia": 19,
    "UK": 20,
    "U.S.": 21,
    "Côte d’Ivoire": 22,
}


@pytest.fixture(scope="module")
def matcher() -> RegionMatcher:
    return RegionMatcher(NAMES.items(), country_ids=range(10, 30))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Partners in Nigeria and Niger", [12, 11]),  # whole words, the longer name first
        ("Guinea-Bissau, then Guinea", [14, 13]),
        ("South Africa's courts and southern africa", [6, 4]),  # possessive; any case
        ("Kenya'x or 'Kenya'", [10]),  # an apostrophe glued to a word is no boundary
        ("the uk and the UK", [20]),  # capital acronyms only in capitals
        ("U.S. and Cote d'Ivoire", [21, 22]),  # accents and apostrophes of either kind
        ("des juristes en Afrique de l'Ouganda", [15]),  # after a French elision
        ("East and Southern Africa", [3, 4]),  # a shared ending
        ("West, East and Southern Africa", [5, 3, 4]),
        ("Kenya and Southern Africa", [10, 4]),
        ("Legal aid and Southern Africa", [4]),  # "Legal Africa" names nothing
        ("World Bank and International Legal Foundation", []),  # only as a whole title
        ("Global updates", [1]),
        ("ask @kenya or kenya@example.org", []),  # handles and e-mail addresses
    ],
)
def test_find(matcher: RegionMatcher, text: str, found: list[int]) -> None:
    assert matcher.find(text) == found


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Kenya", [10]),
        ("World", [1]),
        ("International:", [1]),
        ("The Gambia", [17]),
        ("Senegal and The Gambia", []),  # Senegal is no region of these
        ("Nigeria and the Philippines", [12, 16]),
        ("Bosnia and Herzegovina and Serbia", [18, 19]),
        ("Kenya / Nigeria & Niger", [10, 12, 11]),
        ("East and Southern Africa", [3, 4]),
        ("Kenya paralegals", []),
        ("", []),
    ],
)
def test_names(matcher: RegionMatcher, text: str, names: list[int]) -> None:
    assert matcher.names(text) == names


def test_lookup_ignores_a_leading_article(matcher: RegionMatcher) -> None:
    assert matcher.lookup("the Philippines") == 16
    assert matcher.lookup("The Gambia") == 17
    assert matcher.lookup("the") is None
    assert matcher.lookup("Guinea Bissau") is None


def test_seeding_again_adds_what_an_older_database_lacks(session: Session) -> None:
    congo = find_region(session, "dr-congo")
    assert congo is not None
    session.execute(sa.delete(RegionAlias).where(RegionAlias.normalized == "rdc"))
    assert seed_regions(session) == 0
    assert session.scalar(sa.select(RegionAlias.region_id).where(RegionAlias.alias == "RDC")) == (
        congo.id
    )
    count = session.scalar(sa.select(sa.func.count()).select_from(RegionAlias))
    assert seed_regions(session) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(RegionAlias)) == count
    assert session.scalar(sa.select(sa.func.count()).select_from(Region)) > 250
