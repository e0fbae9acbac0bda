"""The regions and people JSON API: GET /api/regions[/<slug>] and GET /api/people[/<handle>]."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.notes.services import NoteInput, save_note
from app.taxonomy.services import create_region, find_person, find_region, update_person

PUBLISHED = [
    "## West Africa (@kofi_m)\n- The paralegal summit in Accra.\n\n## Asia (@Rina)\n- Bandung.\n",
    "## Kenya (@amina)\n- Courts in Nairobi.\n\n## Global (@rina)\n- The report.\n",
]
DRAFT = "## Europe (@secret_sam)\n- Plans.\n\n## Asia (@rina)\n- Not yet public.\n"


@pytest.fixture
def notes(session: Session) -> None:
    """Two published notes and a draft; kofi_m and amina have names."""
    for number, body in enumerate(PUBLISHED):
        save_note(session, NoteInput(title=f"Call {number}", body=body, status="published"))
    save_note(session, NoteInput(title="Secret draft", body=DRAFT))
    update_person(session, find_person(session, "kofi_m"), "Kofi Mensah", "Legal Aid Ghana")
    update_person(session, find_person(session, "amina"), "Dr Amina Wanjiru", "")
    session.commit()


def _ok(client: FlaskClient, path: str, **query: Any) -> Any:
    response = client.get(path, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _error(client: FlaskClient, path: str, status: int, **query: Any) -> str:
    response = client.get(path, query_string=query)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["status"] == status
    return str(error["message"])


# --- regions ---------------------------------------------------------------------------------


def test_flat_list_of_regions_by_name(client: FlaskClient) -> None:
    regions = _ok(client, "/api/regions")["regions"]
    by_slug = {region["slug"]: region for region in regions}
    assert len(by_slug) == len(regions) > 250  # the M49 tree and its countries
    assert by_slug["latin-america"] == {
        "id": by_slug["latin-america"]["id"],
        "slug": "latin-america",
        "name": "Latin America",
        "code": "419",
        "kind": "group",
        "parent": "americas",
        "aliases": [
            "América Latina",
            "Amérique latine",
            "LAC",
            "LatAm",
            "Latin America and the Caribbean",
            "Latinoamérica",
        ],
    }
    assert by_slug["global"]["parent"] is None
    assert (by_slug["kenya"]["kind"], by_slug["kenya"]["code"]) == ("country", "KE")
    assert by_slug["kenya"]["parent"] == "east-and-horn-of-africa"
    names = [region["name"] for region in regions]
    order = ["Africa", "Asia", "Global", "Kenya", "Latin America", "West Africa"]
    assert [names.index(name) for name in order] == sorted(names.index(name) for name in order)


def test_region_tree_from_the_top(client: FlaskClient, session: Session) -> None:
    create_region(session, "Coalition hubs")
    create_region(session, "Sahel", "west-africa", aliases=["Sahel belt"])
    session.commit()
    tree = _ok(client, "/api/regions", tree="1")["regions"]
    assert [(root["slug"], root["name"]) for root in tree] == [
        ("coalition-hubs", "Coalition hubs"),
        ("global", "Global"),
    ]
    assert tree[0]["children"] == []
    world = tree[1]
    assert [child["slug"] for child in world["children"]] == [
        "africa",
        "americas",
        "antarctica",
        "asia",
        "europe",
        "oceania",
    ]
    africa = world["children"][0]
    assert [child["slug"] for child in africa["children"]] == ["north-africa", "sub-saharan-africa"]
    sub_saharan = africa["children"][1]
    west = next(c for c in sub_saharan["children"] if c["slug"] == "west-africa")
    assert set(west) == {"slug", "name", "children"}
    assert {"ghana", "sahel"} <= {child["slug"] for child in west["children"]}
    ghana = next(c for c in west["children"] if c["slug"] == "ghana")
    assert ghana == {"slug": "ghana", "name": "Ghana", "children": []}

    def count(nodes: list[dict[str, Any]]) -> int:
        return sum(1 + count(node["children"]) for node in nodes)

    # Every region is in the tree once.
    assert count(tree) == len(_ok(client, "/api/regions")["regions"])
    for value in ("true", "YES"):
        assert _ok(client, "/api/regions", tree=value)["regions"] == tree
    for value in ("0", "false", "no", ""):
        assert "code" in _ok(client, "/api/regions", tree=value)["regions"][0]


def test_one_region(client: FlaskClient, session: Session) -> None:
    kenya = find_region(session, "kenya")
    assert kenya is not None
    assert _ok(client, "/api/regions/kenya") == {
        "id": kenya.id,
        "slug": "kenya",
        "name": "Kenya",
        "code": "KE",
        "kind": "country",
        "parent": "east-and-horn-of-africa",
        "aliases": ["Kenia", "Quênia", "Republic of Kenya"],  # Spanish, Portuguese, official
        "children": [],
        "ancestors": [
            {"slug": "global", "name": "Global"},
            {"slug": "africa", "name": "Africa"},
            {"slug": "sub-saharan-africa", "name": "Sub-Saharan Africa"},
            {"slug": "east-and-horn-of-africa", "name": "East and Horn of Africa"},
        ],
    }
    africa = _ok(client, "/api/regions/Africa")  # any case
    assert africa["children"] == ["north-africa", "sub-saharan-africa"]
    assert africa["ancestors"] == [{"slug": "global", "name": "Global"}]
    world = _ok(client, "/api/regions/global")
    assert (world["parent"], world["ancestors"], world["code"]) == (None, [], "001")
    assert "World" in world["aliases"]


def test_regions_hold_no_trace_of_drafts(client: FlaskClient, notes: None) -> None:
    for path in ("/api/regions", "/api/regions?tree=1", "/api/regions/europe"):
        text = client.get(path).get_data(as_text=True)
        assert "Secret draft" not in text and "secret_sam" not in text, path


@pytest.mark.parametrize("slug", ["atlantis", "x" * 81, "a%00b", "%20"])
def test_unknown_region_is_a_404(client: FlaskClient, slug: str) -> None:
    assert _error(client, f"/api/regions/{slug}", 404).startswith("slug: no region ")


@pytest.mark.parametrize("value", ["2", "tree", "x\x00"])
def test_bad_tree_argument_is_a_400(client: FlaskClient, value: str) -> None:
    assert _error(client, "/api/regions", 400, tree=value).startswith("tree: ")


# --- people ----------------------------------------------------------------------------------


def _person(handle: str, name: str, organisation: str, updates: int) -> dict[str, Any]:
    return {
        "handle": handle,
        "display_name": name,
        "organisation": organisation,
        "url": f"http://localhost/people/{handle}",
        "updates": updates,
    }


AMINA = _person("amina", "Dr Amina Wanjiru", "", 1)
KOFI = _person("kofi_m", "Kofi Mensah", "Legal Aid Ghana", 1)
RINA = _person("rina", "", "", 2)  # the draft's update is not counted


def test_people_by_handle_with_published_update_counts(client: FlaskClient, notes: None) -> None:
    assert _ok(client, "/api/people") == {"people": [AMINA, KOFI, RINA]}


@pytest.mark.parametrize(
    ("q", "people"),
    [
        ("r", [RINA]),
        ("RI", [RINA]),
        ("@ri", [RINA]),
        ("k", [KOFI]),  # handle and display name
        ("kofi m", [KOFI]),  # display name
        ("dr", [AMINA]),  # display name only
        ("DR AM", [AMINA]),
        ("am", [AMINA]),  # the handle; "Amina" in the middle of the display name does not count
        ("mensah", []),
        ("secret", []),  # only in a draft
        ("r_", []),  # "_" and "%" are not wildcards
        ("%", []),
        ("", [AMINA, KOFI, RINA]),
    ],
)
def test_people_autocomplete(
    client: FlaskClient, notes: None, q: str, people: list[dict[str, Any]]
) -> None:
    assert _ok(client, "/api/people", q=q)["people"] == people


def test_people_limit(client: FlaskClient, notes: None) -> None:
    assert _ok(client, "/api/people", limit=2)["people"] == [AMINA, KOFI]
    assert _ok(client, "/api/people", limit=100)["people"] == [AMINA, KOFI, RINA]


def test_one_person(client: FlaskClient, notes: None, session: Session) -> None:
    for handle in ("kofi_m", "KOFI_M", "@Kofi_M"):
        assert _ok(client, f"/api/people/{handle}") == {**KOFI, "home_region": None}
    person = find_person(session, "rina")
    assert person is not None
    person.home_region = find_region(session, "southeast-asia")
    session.commit()
    assert _ok(client, "/api/people/rina") == {**RINA, "home_region": "southeast-asia"}


@pytest.mark.parametrize("handle", ["nobody", "secret_sam", "x" * 81, "a%00b", "@"])
def test_unknown_person_is_a_404(client: FlaskClient, notes: None, handle: str) -> None:
    assert _error(client, f"/api/people/{handle}", 404).startswith("handle: no person ")


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a\x00"}, "q"),
    ],
)
def test_bad_people_query_is_a_400(
    client: FlaskClient, notes: None, query: dict[str, str], parameter: str
) -> None:
    assert _error(client, "/api/people", 400, **query).startswith(f"{parameter}: ")
