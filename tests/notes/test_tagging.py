"""Splitting notes into updates and tagging them, for both shapes notes arrive in."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.notes.services import NoteInput, save_note, set_update_tags, tag_sections
from app.taxonomy.services import find_region, region_matcher

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
        by_slug = {}
        for item in tag_sections(text, matcher):
            regions = [find_region_by_id(session, rid) for rid in item.region_ids]
            suggested = [find_region_by_id(session, rid) for rid in item.suggested_ids]
            by_slug[item.anchor] = (regions, suggested, item.handles)
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
    assert set(suggested) == {"nigeria", "senegal"}  # countries in the body only suggest
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
    assert [r.slug for r in by_anchor["latin-america"].regions] == ["south-america"]
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
