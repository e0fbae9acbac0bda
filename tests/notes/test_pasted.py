"""Notes as campaign teams paste them: titles without "#", glued titles, "•" bullets, places
named by country, demonym or city; what each update is about, mentions, and who gives it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.notes.services import tag_sections
from app.taxonomy.matching import region_matcher
from app.taxonomy.models import Region


@dataclasses.dataclass
class Got:
    title: str
    about: list[str]
    mentions: list[str]
    suggested: list[str]
    speakers: list[str]
    presenters: list[str]


@pytest.fixture
def tag(session: Session) -> Any:
    matcher = region_matcher(session)

    def slug(region_id: int) -> str:
        return session.get(Region, region_id).slug

    def tag(text: str) -> list[Got]:
        return [
            Got(
                item.section.title,
                [slug(rid) for rid in item.region_ids],
                [slug(rid) for rid in item.mention_ids],
                [slug(rid) for rid in item.suggested_ids],
                item.handles,
                item.presenters,
            )
            for item in tag_sections(text, matcher)
        ]

    return tag


@pytest.fixture
def places(session: Session) -> Any:
    """The places a sentence mentions, as slugs."""
    matcher = region_matcher(session)
    return lambda text: [session.get(Region, rid).slug for rid in matcher.mentions(text)]


PASTED_CALL = """\
May 2023 Network Call Notes

Watch the recording of the call here Global Updates

The call opened with news from the secretariat.

Open Justice Week, Priya Raman

The week runs from 12 to 16 June in Seoul, with partners from the Kenyan and Peruvian networks.

@tomasv then listed what members can do this month:

  • Share the campaign toolkit.
  • Tell us about your events.

Andean Region Update @lucia_q

Peru: the paralegal bill passed its first reading.

Regional Updates

  • Asia (@budi_s)
    • Jakarta: a clinic opened for fisherfolk.
  • @amara_k gave an update on the West Africa paralegal summit in Dakar.
  • Latin America (@lucia_q)
    • Bolivia and Ecuador: two new members.

Ways to Get Involved This Month:

  • Register for the next call.
"""


def test_a_pasted_call_splits_into_its_sections_and_regional_updates(tag: Any) -> None:
    got = {g.title: g for g in tag(PASTED_CALL)}
    # The note's own title line and the text glued to the group title are its opening.
    assert list(got) == [
        "",
        "Global Updates",
        "Open Justice Week, Priya Raman",
        "Andean Region Update @lucia_q",
        "Asia (@budi_s)",
        "@amara_k gave an update on the West Africa paralegal summit in Dakar",
        "Latin America (@lucia_q)",
        "Ways to Get Involved This Month",
    ]
    assert got["Global Updates"].about == ["global"]
    # A sentence ending in ":" before a list stays in its section, with its speaker.
    week = got["Open Justice Week, Priya Raman"]
    assert week.speakers == ["tomasv"] and week.presenters == []
    # Under a global title, places are where its events happen: suggested, not tagged.
    assert week.about == ["global"] and week.mentions == []
    assert set(week.suggested) == {"south-korea", "kenya", "peru"}
    # A city leading a bullet in a region's update names the country it is about.
    assert got["Asia (@budi_s)"].about == ["asia", "indonesia"]
    summit = got["@amara_k gave an update on the West Africa paralegal summit in Dakar"]
    assert summit.about == ["west-africa", "senegal"] and summit.presenters == ["amara_k"]
    latin = got["Latin America (@lucia_q)"]
    assert latin.about == ["latin-america", "bolivia", "ecuador"]
    assert latin.presenters == ["lucia_q"]


def test_titles_read_from_the_layout(tag: Any) -> None:
    text = (
        "Court Users Survey @wanjiru\n\n"
        "Kenyan paralegals met court users in Kisumu and Nakuru.\n\n"
        "There were also three sessions on land\n\n"
        "  • One in Kisumu.\n\n"
        "Other News@tomasv\n\n"
        "The toolkit is out.\n\n"
        "Bolivia Learning Exchange update @lucia_q spoke about the exchange in Sucre. "
        "It went well.\n"
    )
    got = tag(text)
    # "There were also three sessions on land" is a sentence without a full stop, not a title.
    assert [g.title for g in got] == [
        "Court Users Survey @wanjiru",
        "Other News @tomasv",
        "Bolivia Learning Exchange update",
    ]
    survey, news, exchange = got
    assert survey.presenters == ["wanjiru"]
    assert survey.about == [] and survey.mentions == ["kenya"]  # a demonym
    assert news.presenters == ["tomasv"]
    assert exchange.about == ["bolivia"] and exchange.presenters == ["lucia_q"]


def test_a_title_directly_above_its_paragraph(tag: Any) -> None:
    got = tag(
        "Nepal Update\nThe legal aid act was amended.\n\nNext Steps\n- Write to the minister.\n"
    )
    assert [(g.title, g.about) for g in got] == [("Nepal Update", ["nepal"]), ("Next Steps", [])]


def test_markdown_headings_still_split_and_nest(tag: Any) -> None:
    got = tag("## Africa (@amina)\n\n### Land campaign\n\nIn Kenya and Uganda.\n")
    assert [(g.title, g.about, g.presenters) for g in got] == [
        ("Land campaign", ["africa"], ["amina"])
    ]
    assert got[0].mentions == ["kenya", "uganda"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A workshop in Tbilisi, Georgia.", ["georgia"]),
        ("Our partners in Atlanta, Georgia.", ["united-states"]),
        ("The state of Georgia passed a law.", ["united-states"]),
        ("Georgia and Armenia signed.", ["georgia", "armenia"]),
        ("Niger and Nigeria; the Niger Delta.", ["niger", "nigeria"]),
        (
            "Guinea, Guinea-Bissau, Equatorial Guinea and Papua New Guinea.",
            ["guinea", "guinea-bissau", "equatorial-guinea", "papua-new-guinea"],
        ),
        ("Paralegals in Congo.", ["central-africa"]),
        ("The DRC and Congo-Brazzaville.", ["dr-congo", "congo-republic"]),
        ("Chad Miller and Jordan Peters joined from Chad.", ["chad"]),
        ("Refugees in Jordan.", ["jordan"]),
        ("Türkiye, or Turkey.", ["turkiye"]),
        ("A fellowship at Columbia University.", []),
        ("The webinar will be in Spanish and French.", []),
        ("Spanish-speaking members met the French government.", ["france"]),
        ("Taiwanese lawyers and the Italian Ministry.", ["taiwan", "italy"]),
        ("Filipino lawyers and Ivorian paralegals.", ["philippines", "cote-d-ivoire"]),
        ("Une réunion à Saint-Denis de La Réunion.", ["reunion"]),
        ("Meetings in Buenos Aires, Nairobi and Dhaka.", ["argentina", "kenya", "bangladesh"]),
        ("the beijing platform; Congolese and Dominican partners", ["central-africa", "caribbean"]),
        ("Latin American and Southeast Asian networks.", ["latin-america", "southeast-asia"]),
        ("A global report on international law.", []),
    ],
)
def test_places_named_in_sentences(places: Any, text: str, expected: list[str]) -> None:
    assert places(text) == expected


def test_spanish_and_french_pasted_notes(tag: Any) -> None:
    text = (
        "Actualizaciones regionales\n\n"
        "  • América Latina (@lucia_q)\n"
        "    • Perú: la ley de paralegales avanzó.\n"
        "  • África (@amara_k)\n"
        "    • Reunión con socios de Kenia.\n\n"
        "Mises à jour globales :\n\n"
        "  • Le rapport mondial sort en juin à Genève.\n"
    )
    got = {g.title: g for g in tag(text)}
    assert got["América Latina (@lucia_q)"].about == ["latin-america", "peru"]
    assert got["África (@amara_k)"].about == ["africa"]
    assert got["África (@amara_k)"].mentions == ["kenya"]
    assert got["Mises à jour globales"].about == ["global"]


def test_a_glued_title_is_cut_whatever_the_spacing_and_accents(tag: Any) -> None:
    text = (
        "Notas da chamada  de março   Atualizações globais\n\n"
        "O relatório sai em junho.\n\n"
        "Straße-Netzwerk  Treffen  Global Updates\n\n"
        "The report is out.\n"
    )
    got = tag(text)
    assert [(g.title, g.about) for g in got] == [
        ("Atualizações globais", ["global"]),
        ("Global Updates", ["global"]),
    ]


def test_the_notes_own_title_line(tag: Any) -> None:
    """A dated or call-naming first line stays above the opening; a section's heading does not."""
    got = tag("Coalition call – 9 April\nFacilitator: @marta\n\nGlobal Updates\n\nNews.\n")
    assert [(g.title, g.speakers) for g in got] == [("", ["marta"]), ("Global Updates", [])]
    assert [g.title for g in tag("# Coalition call notes\n\n## Kenya\n- Courts.\n")] == ["Kenya"]
    assert [g.title for g in tag("## Security notes\n- Passwords.\n")] == ["Security notes"]
