"""Searching the text: accents, stems, phrases, exclusions, OR, drafts; ordering and pages."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.notes.services import NoteInput, save_note

from .conftest import A, B, G, K, Publish, api, ordered, titles


@pytest.mark.usefixtures("corpus")
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("paralegal", {K, A, G}),  # "Paralegals" in Kenya's update
        ("paralegals", {K, A, G}),
        ("PARALEGALS", {K, A, G}),
        ("Nairobi", {K}),
        ('"legal aid"', {K}),  # Asia's has "legal advice and aid": the words apart
        ("legal aid", {K, A}),
        ('"aid legal"', set()),
        ("paralegal -Bandung", {K, G}),
        ('legal -"legal aid"', {A}),
        ('paralegal -"paralegal network" -nairobi', {A}),
        ("Bandung OR Nairobi", {K, A}),
        ("Bandung Nairobi", set()),
        ("Bandung OR Nairobi OR Recife", {K, A, B}),
        ('"legal aid" OR Recife', {K, B}),
        ("paralegal Bandung OR Nairobi", {K, A}),
        ("Recife OR Nairobi paralegal", {K}),  # (Recife OR Nairobi) AND paralegal
        ("Recife OR Bandung OR Nairobi legal -desk", {A}),
        ("the paralegal", {K, A, G}),  # a very common word is dropped beside others
        ("Kenya", {K}),  # places are searched
        ("amina", {K}),  # and speakers
        ("November", {G}),  # and the note's title
        ("wraps", set()),  # a draft's words are not
    ],
)
def test_words_phrases_exclusions_and_or(client: FlaskClient, q: str, expected: set[str]) -> None:
    assert titles(client, q=q) == expected


def test_accents_are_ignored_both_ways(client: FlaskClient, publish: Publish) -> None:
    publish("Acuerdo", "## Costa Rica\n- The Escazú Agreement came into force.\n")
    publish("Agreement", "## Chile\n- Chile signed the Escazu agreement.\n")
    both = {"Costa Rica", "Chile"}
    assert titles(client, q="Escazu") == both
    assert titles(client, q="Escazú") == both
    assert titles(client, q="ESCAZÚ") == both
    assert titles(client, q='"escazu agreement"') == both


def test_drafts_are_never_found(client: FlaskClient, session: Session, publish: Publish) -> None:
    save_note(session, NoteInput(title="Plans", body="## Europe (@sam)\n- Zephyrine plans.\n"))
    session.commit()
    assert api(client, q="zephyrine")["total"] == 0
    publish("Public", "## Asia\n- Zephyrine results.\n")
    body = api(client, q="zephyrine")
    assert body["total"] == 1 and [r["note"]["title"] for r in body["results"]] == ["Public"]


def test_a_heading_match_ranks_above_a_body_match(client: FlaskClient, publish: Publish) -> None:
    publish("Older", "## Mangrove restoration\n- Planting continues in Lamu.\n", "2024-01-10")
    publish(
        "Newer",
        "## Coastal news\n- Volunteers counted birds near the mangrove forest at dawn.\n",
        "2025-01-10",
    )
    for day in range(10, 16):  # other updates, so that the words are not in every one
        publish(f"Filler {day}", f"## Filler {day}\n- Budget talks and courts.\n", f"2024-05-{day}")
    assert ordered(client, q="mangrove") == ["Mangrove restoration", "Coastal news"]
    assert ordered(client, q="mangrove", sort="relevance") == [
        "Mangrove restoration",
        "Coastal news",
    ]
    assert ordered(client, q="mangrove", sort="date") == ["Coastal news", "Mangrove restoration"]
    assert api(client, q="mangrove", sort="date")["sort"] == "date"


@pytest.fixture
def harvest(publish: Publish) -> list[str]:
    """Seven updates with the word "harvest", one a day: newest first by their headings."""
    days = [f"2025-03-{day:02d}" for day in range(1, 8)]
    for number, day in enumerate(days, start=1):
        publish(f"Harvest {number}", f"## Harvest {number}\n- The harvest of {day}.\n", day)
    publish("Other", "## Other\n- Nothing to see.\n")
    return [f"Harvest {number}" for number in range(7, 0, -1)]


@pytest.mark.parametrize("sort", ["date", "relevance"])
def test_pages_cover_every_result_once(client: FlaskClient, harvest: list[str], sort: str) -> None:
    pages = [api(client, q="harvest", sort=sort, per_page=3, page=page) for page in (1, 2, 3)]
    for number, body in enumerate(pages, start=1):
        assert (body["page"], body["per_page"], body["total"], body["pages"]) == (number, 3, 7, 3)
    seen = [result["title"] for body in pages for result in body["results"]]
    assert [len(body["results"]) for body in pages] == [3, 3, 1]
    assert sorted(seen) == sorted(harvest)
    if sort == "date":
        assert seen == harvest


def test_a_page_past_the_end_is_empty(client: FlaskClient, harvest: list[str]) -> None:
    body = api(client, q="harvest", per_page=3, page=4)
    assert (body["total"], body["pages"], body["results"]) == (7, 3, [])


@pytest.mark.parametrize(
    ("params", "shape"),
    [
        ({}, (1, 20, 8, 1)),  # everything, by date
        ({"q": "harvest"}, (1, 20, 7, 1)),
        ({"q": "harvest", "per_page": 7}, (1, 7, 7, 1)),
        ({"q": "harvest", "per_page": 1, "page": 7}, (7, 1, 7, 7)),
        ({"q": "harvest", "per_page": 100, "page": 2}, (2, 100, 7, 1)),
        ({"q": "nothing-matches-this"}, (1, 20, 0, 1)),
    ],
)
def test_paging_numbers(
    client: FlaskClient, harvest: list[str], params: dict[str, Any], shape: tuple[int, ...]
) -> None:
    body = api(client, **params)
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == shape
    expected = min(body["per_page"], max(0, body["total"] - (body["page"] - 1) * body["per_page"]))
    assert len(body["results"]) == expected


def test_the_second_page_follows_the_first(client: FlaskClient, harvest: list[str]) -> None:
    first = ordered(client, q="harvest", sort="date", per_page=2)
    second = ordered(client, q="harvest", sort="date", per_page=2, page=2)
    assert first + second == harvest[:4]
