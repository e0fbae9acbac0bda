"""Splitting notes into updates and tagging them, for both shapes notes arrive in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.notes import render
from app.notes.services import NoteInput, save_note, set_update_tags, tag_sections
from app.taxonomy.matching import region_matcher
from app.taxonomy.services import find_region

HEADINGS = """\
## Global updates
- The global report on legal empowerment launched in June (@Marta).

## Regional updates
### West Africa (@kofi_m)
- The paralegal summit in Accra drew 120 participants.
  - Follow-up meetings in Nigeria and Senegal.

### Asia (@Rina)
- Workshop in Bandung on legal aid.

## Ways to get involved
- Join the working group on data.
"""

PASTED = """\
Regional Campaign Updates:
  • Asia (@Rina)
    • Workshop in Bandung on legal aid for human-rights defenders in Indonesia.
  • Latin America (@tomas)
    • Regional agreement on access to justice: Escazú, now ratified by Chile.
  • East and Horn of Africa (@Wanjiru)
    • Community paralegals in Kenya and Ethiopia.
"""


@pytest.fixture
def tag(session: Session) -> Any:
    matcher = region_matcher(session)

    def tag(text: str) -> dict[str, tuple[list[str], list[str], list[str]]]:
        """By anchor: (regions it is about, places its text mentions, speakers)."""
        by_slug = {}
        for item in tag_sections(text, matcher):
            regions = [find_region_by_id(session, rid) for rid in item.region_ids]
            mentions = [find_region_by_id(session, rid) for rid in item.mention_ids]
            by_slug[item.anchor] = (regions, mentions, item.handles)
        return by_slug

    return tag


def find_region_by_id(session: Session, region_id: int) -> str:
    from app.taxonomy.models import Region

    return session.get(Region, region_id).slug


def test_markdown_headings(tag: Any) -> None:
    result = tag(HEADINGS)
    assert list(result) == ["global-updates", "west-africa", "asia", "ways-to-get-involved"]
    assert result["global-updates"] == (["global"], [], ["marta"])
    regions, suggested, speakers = result["west-africa"]
    assert regions == ["west-africa"] and speakers == ["kofi_m"]
    # Places its text names are mentions: countries, and cities (Accra, in Ghana).
    assert set(suggested) == {"nigeria", "senegal", "ghana"}
    assert result["asia"][0] == ["asia"] and result["asia"][2] == ["rina"]
    assert result["ways-to-get-involved"] == ([], [], [])


def test_pasted_bullets(tag: Any) -> None:
    result = tag(PASTED)
    assert list(result) == ["asia", "latin-america", "east-and-horn-of-africa"]
    assert result["asia"] == (["asia"], ["indonesia"], ["rina"])
    assert result["latin-america"][0] == ["latin-america"]
    assert result["latin-america"][1] == ["chile"]
    assert result["east-and-horn-of-africa"][0] == ["east-and-horn-of-africa"]
    assert set(result["east-and-horn-of-africa"][1]) == {"kenya", "ethiopia"}


@pytest.mark.parametrize("bullet", ["•", "-", "*", "+", "1."])
def test_every_bullet_style_and_nesting(tag: Any, bullet: str) -> None:
    text = (
        "Updates:\n"
        f"{bullet} Nigeria (@Ade)\n"
        f"   {bullet} Court users' survey\n"
        f"      {bullet} 300 respondents in Lagos\n"
        f"{bullet} Kenya\n"
        f"   {bullet} Paralegals trained by @wanjiru\n"
    )
    result = tag(text)
    assert result["nigeria"] == (["nigeria"], [], ["ade"])
    assert result["kenya"] == (["kenya"], [], ["wanjiru"])


def test_second_level_region_bullets_and_colons(tag: Any) -> None:
    text = (
        "- Regional updates:\n"
        "    - **Kenya**: paralegals trained, with @Wanjiru_K.\n"
        "    - Nigeria & Ghana (@ade): joint meeting.\n"
        "        - detail\n"
        "    - A line that names no region.\n"
    )
    result = tag(text)
    assert result["kenya"] == (["kenya"], [], ["wanjiru_k"])
    assert result["nigeria-ghana"][0] == ["nigeria", "ghana"]
    assert result["introduction"][0] == []  # the rest stays in the section around them


def test_aliases_and_other_languages(tag: Any) -> None:
    text = (
        "## LatAm (@tomas)\n- Escazú.\n\n"
        "## Afrique de l'Ouest\n- Une rencontre à Dakar.\n\n## Kenia\n- Sí.\n"
    )
    result = tag(text)
    assert result["latam"][0] == ["latin-america"]
    assert result["afrique-de-l-ouest"][0] == ["west-africa"]
    assert result["kenia"][0] == ["kenya"]


def test_handles_are_case_insensitive_and_emails_are_not_handles(
    session: Session, tag: Any
) -> None:
    text = "## Asia (@Rina)\n- Met @RINA and @rina; write to rina@example.org.\n"
    assert tag(text)["asia"][2] == ["rina"]
    note, _ = save_note(session, NoteInput(title="Handles", body=text, status="published"))
    assert [p.handle for p in note.updates[0].speakers] == ["rina"]


def test_capital_acronyms_only_in_capitals(tag: Any) -> None:
    result = tag("## UK and DRC\n- Both.\n\n## Notes for us\n- Nothing here.\n")
    assert result["uk-and-drc"][0] == ["united-kingdom", "dr-congo"]
    assert result["notes-for-us"][0] == []


def test_editor_corrections_survive_an_edit(session: Session) -> None:
    note, _ = save_note(session, NoteInput(title="October", body=PASTED, status="published"))
    set_update_tags(
        session,
        note,
        "asia",
        regions=["asia", "indonesia"],
        speakers=["@rina", "@budi"],
    )
    asia = next(u for u in note.updates if u.anchor == "asia")
    assert sorted(r.slug for r in asia.regions) == ["asia", "indonesia"]
    assert sorted(p.handle for p in asia.speakers) == ["budi", "rina"]
    set_update_tags(session, note, "latin-america", regions=["south-america"], speakers=[])
    edited = PASTED.replace("Workshop in Bandung", "Two workshops in Bandung")
    edited += "  • Brazil: a new legal clinic in Recife.\n"
    save_note(
        session,
        NoteInput(title="October", body=edited, status="published"),
        note=note,
        base_revision=note.revision,
    )
    by_anchor = {u.anchor: u for u in note.updates}
    assert "Two workshops" in by_anchor["asia"].body
    assert sorted(r.slug for r in by_anchor["asia"].regions) == ["asia", "indonesia"]
    assert sorted(p.handle for p in by_anchor["asia"].speakers) == ["budi", "rina"]
    assert [r.slug for r in by_anchor["latin-america"].about_regions] == ["south-america"]
    assert [r.slug for r in by_anchor["latin-america"].mentioned_regions] == ["chile"]
    assert by_anchor["latin-america"].speakers == []
    assert [r.slug for r in by_anchor["brazil"].regions] == ["brazil"]


def test_region_hierarchy(session: Session) -> None:
    from app.taxonomy.services import descendant_ids

    africa = find_region(session, "africa")
    kenya = find_region(session, "kenya")
    assert kenya.parent.slug == "east-and-horn-of-africa"
    assert kenya.parent.parent.slug == "sub-saharan-africa"
    assert kenya.id in descendant_ids(session, africa)
    assert find_region(session, "west-africa").name == "West Africa"


def test_country_bullets_inside_a_region_update_tag_it(tag: Any) -> None:
    text = (
        "### Latin America (@tomas)\n"
        "- Brazil: defenders' training in Pernambuco.\n"
        "- Colombia: casas de justicia pilot, with @ana.\n"
        "\n"
        "Regional Campaign Updates:\n"
        "  • Asia (@Rina)\n"
        "    • Indonesia: workshop in Bandung.\n"
        "    • A regional meeting is planned.\n"
    )
    result = tag(text)
    assert list(result) == ["latin-america", "asia"]
    assert result["latin-america"] == (
        ["latin-america", "brazil", "colombia"],
        [],
        ["tomas", "ana"],
    )
    assert result["asia"] == (["asia", "indonesia"], [], ["rina"])


def test_possessives_name_the_country(tag: Any) -> None:
    text = "## East Africa\n- Regulations under Kenya's Legal Aid Act.\n"
    assert tag(text)["east-africa"][1] == ["kenya"]


def test_one_line_region_bullets_keep_their_text(session: Session, tag: Any) -> None:
    text = (
        "Regional updates:\n"
        "- Partners met in Nairobi.\n"
        "- Tanzania - @neema_m reported that the paralegal bill passed.\n"
        "- **South Asia** — @priya.n said Sri Lanka's clinics *doubled*.\n"
        "- Peru – the budget was cut.\n"
        "- **Zambia:** no update.\n"
        "- Angola\n"
    )
    result = tag(text)
    assert result["tanzania"] == (["tanzania"], [], ["neema_m"])
    assert result["south-asia"] == (["south-asia"], ["sri-lanka"], ["priya.n"])
    assert result["peru"][0] == ["peru"] and result["zambia"][0] == ["zambia"]
    assert result["angola"][0] == ["angola"]  # a bullet naming a region alone is kept
    note, _ = save_note(session, NoteInput(title="Regions", body=text, status="published"))
    by_anchor = {u.anchor: u for u in note.updates}
    assert by_anchor["south-asia"].body == "@priya.n said Sri Lanka's clinics *doubled*."
    assert by_anchor["zambia"].body == "no update."
    # Nothing written is lost from the note's page.
    shown = set(re.findall(r"[\w']+", render.plain_text(note.body_html)))
    assert set(re.findall(r"[\w']+", text)) - shown == set()


def test_word_bullets_pasted_as_text(tag: Any) -> None:
    text = (
        "Regional Campaign Updates:\n"
        "●\tEast Africa (@Wanjiru)\n"
        "o\tKenya: court users' committees meet monthly.\n"
        "§\tNairobi: two new ones.\n"
        "o\tUganda: 85 courts mapped.\n"
        "●\tLatin America (@tomas)\n"
        "o  Brazil: 300 defenders trained.\n"
    )
    result = tag(text)
    assert list(result) == ["east-africa", "latin-america"]
    assert result["east-africa"][0] == ["east-and-horn-of-africa", "kenya", "uganda"]
    assert result["latin-america"][0] == ["latin-america", "brazil"]


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("o relatório foi enviado.", "<p>o relatório foi enviado.</p>"),
        ("§ 3 of the Act applies.", "<p>§ 3 of the Act applies.</p>"),
        ("- Kenya\n    o Nairobi", "<ul>\n<li>Kenya<ul>\n<li>Nairobi</li>\n</ul>\n</li>\n</ul>"),
    ],
)
def test_a_letter_o_is_a_bullet_only_where_a_list_goes_on(text: str, html: str) -> None:
    assert render.render(text) == html


def test_articles_before_country_names(tag: Any) -> None:
    text = (
        "Updates:\n"
        "- Senegal and The Gambia: a cross-border training, led by @fatou_s.\n"
        "- Asia (@rina)\n"
        "    - Indonesia and the Philippines: joint training.\n"
    )
    result = tag(text)
    assert result["senegal-and-the-gambia"] == (["senegal", "gambia"], [], ["fatou_s"])
    assert result["asia"][0] == ["asia", "indonesia", "philippines"]


def test_short_names_and_portuguese(tag: Any) -> None:
    text = (
        "Atualizações:\n"
        "- US (@dana.w): two cities.\n"
        "- RDC : les cliniques de Goma.\n"
        "- Lao PDR / Cambodia (@sok_c): land titling.\n"
        "- Moçambique (@Celso_M): 900 pessoas.\n"
        "- Guiné-Bissau e Cabo Verde (@joao.p): intercâmbio.\n"
    )
    result = tag(text)
    assert result["us"][0] == ["united-states"]
    assert result["rdc"][0] == ["dr-congo"]
    assert result["lao-pdr-cambodia"][0] == ["laos", "cambodia"]
    assert result["mocambique"][0] == ["mozambique"]
    assert result["guine-bissau-e-cabo-verde"][0] == ["guinea-bissau", "cabo-verde"]
    meeting = tag("## Atualizações\n- Pauta.\n\n## Reunião de coordenação\n- Pauta.\n")
    assert meeting["reuniao-de-coordenacao"][0] == []


def test_region_names_sharing_their_ending(tag: Any) -> None:
    text = (
        "# Regional call – East and Southern Africa\n24 participants.\n\n"
        "## West, Central and Southern Africa\n- Joint report.\n\n"
        "## East and Southern Africa\n- Joint report.\n"
    )
    result = tag(text)
    # The first heading names the call: the note's own title, above its opening.
    assert list(result) == [
        "introduction",
        "west-central-and-southern-africa",
        "east-and-southern-africa",
    ]
    assert result["east-and-southern-africa"][0] == ["east-and-horn-of-africa", "southern-africa"]
    assert result["west-central-and-southern-africa"][0] == [
        "west-africa",
        "central-africa",
        "southern-africa",
    ]


def test_action_points_are_for_people_named_like_countries(tag: Any) -> None:
    text = (
        "## Action points\n"
        "- Georgia (@georgia_w): circulate the tracker template.\n"
        "- Chad: book the interpreters.\n"
        "\n"
        "## Prochaines étapes\n"
        "- Sénégal : envoyer le rapport.\n"
        "\n"
        "## Action on land rights\n"
        "- Kenya: a hearing.\n"
    )
    result = tag(text)
    assert list(result) == ["action-points", "prochaines-etapes", "kenya"]
    # The people leading tasks are not places the notes mention.
    assert result["action-points"] == ([], [], ["georgia_w"])
    assert result["prochaines-etapes"] == ([], [], [])


def test_a_name_followed_by_its_own_handle_is_a_person(tag: Any) -> None:
    text = (
        "Updates:\n"
        "- Jordan (@jordan_e): the budget tracker covers 11 countries.\n"
        "- Kenya (@Wanjiru): paralegals trained.\n"
    )
    result = tag(text)
    assert list(result) == ["updates", "kenya"]
    assert result["updates"][0] == []  # Jordan's bullet stays in the section around it
    assert result["kenya"][0] == ["kenya"]


def test_sub_headings_report_on_their_heading_s_region_and_speaker(tag: Any) -> None:
    text = (
        "## Global updates\n"
        "### Fundraising\n- Two proposals.\n\n"
        "## Africa\n"
        "### Land rights campaign (@amina_b)\n- 3,000 testimonies.\n\n"
        "## Asia-Pacific (@Rina)\n- Partners in Fiji joined.\n"
        "### Indonesia\n- An exam for paralegals.\n\n"
        "# Coalition call, 5 May\nChair: @marta.\n"
        "## Ways to get involved\n- Write to us.\n"
    )
    result = tag(text)
    assert result["fundraising"] == (["global"], [], [])
    assert result["land-rights-campaign"] == (["africa"], [], ["amina_b"])
    assert result["indonesia"] == (["indonesia"], [], ["rina"])
    assert result["ways-to-get-involved"] == ([], [], [])  # the call's title is no region's


def test_organisations_named_world_or_international(tag: Any) -> None:
    text = (
        "## World Bank justice loan to Kenya\n- Consultation.\n\n"
        "## International Legal Foundation in Nepal\n- Training.\n\n"
        "## International updates\n- A report.\n\n"
        "## World\n- Another.\n\n"
        "## Updates from around the world\n- More.\n"
    )
    result = tag(text)
    assert result["world-bank-justice-loan-to-kenya"][0] == ["kenya"]
    assert result["international-legal-foundation-in-nepal"][0] == ["nepal"]
    assert result["international-updates"][0] == ["global"]
    assert result["world"][0] == ["global"]
    assert result["updates-from-around-the-world"][0] == []


def test_a_bullet_of_region_bullets_among_region_updates_is_a_group(tag: Any) -> None:
    text = (
        "Country updates:\n"
        "* South Asia (@priya.n)\n"
        "    * India: a consultation.\n"
        "* Pacific\n"
        "    * Fiji: paralegals trained in Lautoka.\n"
        "    * Samoa: a new clinic.\n"
        "* Thanks to all\n"
        "    * Kenya: the report.\n"
    )
    result = tag(text)
    assert list(result) == ["country-updates", "south-asia", "pacific", "kenya"]
    assert result["pacific"] == (["fiji", "samoa"], [], [])
    assert result["kenya"][0] == ["kenya"]  # "Thanks to all" is no place's name
