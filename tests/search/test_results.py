"""What a search returns: facets (counts by region and by year), snippets in which only <mark>
is markup, and each result's note, link and tags."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from app.search import backends

from .conftest import Corpus, Publish, api


@pytest.fixture
def water(publish: Publish) -> None:
    """Four updates about water (three in Africa, one in Asia; 2024 and 2025), one not."""
    publish("Kenya wells", "## Kenya\n- Water wells in Turkana.\n", "2024-05-01")
    publish("Uganda pumps", "## Uganda\n- Water pumps repaired.\n", "2025-02-01")
    publish("Nigeria rights", "## Nigeria\n- Water rights campaign.\n", "2025-03-01")
    publish("Asia tariffs", "## Asia\n- Water tariffs rose.\n", "2025-04-01")
    publish("Asia fishing", "## Asia\n- Fishing quotas.\n", "2023-06-01")


def facets(
    client: FlaskClient, **params: str
) -> tuple[list[tuple[str, int]], list[tuple[int, int]]]:
    body = api(client, **params)["facets"]
    return (
        [(facet["slug"], facet["count"]) for facet in body["regions"]],
        [(facet["year"], facet["count"]) for facet in body["years"]],
    )


@pytest.fixture(params=["one pass", "by keys"], autouse=True)
def counting(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite counts facets in one pass over few matches, by FTS5 keys for many: both ways."""
    if request.param == "by keys":
        monkeypatch.setattr(backends, "SINGLE_PASS", -1)


@pytest.mark.usefixtures("water")
def test_facets_count_by_region_and_year(client: FlaskClient) -> None:
    regions, years = facets(client, q="water")
    assert regions == [("africa", 3), ("asia", 1)]  # the continents, most found first
    assert years == [(2025, 3), (2024, 1)]  # newest first; 2023 has none: left out
    regions, years = facets(client, q="water region:africa")
    assert regions == [("sub-saharan-africa", 3)]  # the regions just below the one chosen
    assert years == [(2025, 2), (2024, 1)]
    regions, years = facets(client, q="water", region="sub-saharan-africa")
    assert regions == [("east-and-horn-of-africa", 2), ("west-africa", 1)]
    regions, years = facets(client, q="water", **{"from": "2025-01-01"})
    assert regions == [("africa", 2), ("asia", 1)]
    assert years == [(2025, 3)]
    # Phrases (which PostgreSQL counts in the same pass as the page) count the same way.
    regions, years = facets(client, q='"water rights" OR "water wells" OR "water tariffs"')
    assert regions == [("africa", 2), ("asia", 1)]
    assert years == [(2025, 2), (2024, 1)]
    regions, years = facets(client, q='"water rights" OR "water wells"', region="africa")
    assert regions == [("sub-saharan-africa", 2)]
    assert years == [(2025, 1), (2024, 1)]


@pytest.mark.usefixtures("water")
def test_year_facets_and_total_follow_dates_inside_a_year(client: FlaskClient) -> None:
    body = api(client, q="water", **{"from": "2025-02-15", "to": "2025-03-15"})
    assert body["total"] == 1
    assert facets(client, q="water", **{"from": "2025-02-15", "to": "2025-03-15"})[1] == [(2025, 1)]
    body = api(client, q="water", **{"from": "2024-06-01"})
    assert body["total"] == 3
    assert facets(client, q="water", **{"to": "2025-02-01"})[1] == [(2025, 1), (2024, 1)]
    assert api(client, q="water", **{"from": "2030-01-01"})["total"] == 0


@pytest.mark.usefixtures("water")
def test_facets_are_left_out_when_asked_and_when_nothing_is_found(client: FlaskClient) -> None:
    assert api(client, q="water", facets="0")["facets"] == {"regions": [], "years": []}
    assert api(client, q="nothing-like-it")["facets"] == {"regions": [], "years": []}


@pytest.mark.usefixtures("water")
def test_the_page_shows_the_facets_as_links(client: FlaskClient) -> None:
    html = client.get("/search", query_string={"q": "water"}).get_data(as_text=True)
    by_region = re.search(r"By region</h2>\s*<ul>(.*?)</ul>", html, re.S)
    assert by_region is not None
    assert re.findall(r'region=([a-z-]+)">([^<]+)</a> <span class="count">(\d+)', by_region[1]) == [
        ("africa", "Africa", "3"),
        ("asia", "Asia", "1"),
    ]
    assert 'from=2025-01-01&amp;to=2025-12-31">2025</a> <span class="count">3' in html


HOSTILE = """\
## Security <b>notes</b> & <img src=x onerror=alert(1)>
- Someone pasted `<script>alert(1)</script>` into the mangrove form.
- It also held &lt;b onclick="x()"&gt;bold&lt;/b&gt; and \ue000private\ue001 marks.
"""

TAG = re.compile(r"<[^>]*>")


def only_marks(html: str) -> bool:
    return set(TAG.findall(html)) <= {"<mark>", "</mark>"}


def test_snippets_escape_everything_but_the_marks(client: FlaskClient, publish: Publish) -> None:
    publish("Security", HOSTILE)
    [result] = api(client, q="mangrove")["results"]
    snippet = result["snippet_html"]
    assert only_marks(snippet), snippet
    assert "<mark>mangrove</mark>" in snippet
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in snippet
    assert "&lt;b onclick=&#34;x()&#34;&gt;bold&lt;/b&gt;" in snippet
    assert "private" in snippet and "<mark>private" not in snippet
    title = result["title_html"]
    assert only_marks(title), title
    assert title.startswith("Security &lt;b&gt;notes&lt;/b&gt; &amp; &lt;img")


def test_matched_words_are_marked_in_heading_and_snippet(
    client: FlaskClient, publish: Publish
) -> None:
    publish("Security", HOSTILE)
    [result] = api(client, q="notes script")["results"]
    assert "<mark>notes</mark>" in result["title_html"]
    assert re.search(r"&lt;<mark>script</mark>&gt;", result["snippet_html"]), result
    [result] = api(client, q="Privates")["results"]  # a stemmed match is marked too
    assert "<mark>private</mark>" in result["snippet_html"]


def test_the_page_shows_hostile_text_as_text(client: FlaskClient, publish: Publish) -> None:
    publish("Security", HOSTILE)
    response = client.get("/search", query_string={"q": "mangrove"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert" not in html and "<img src=x" not in html and "<b onclick" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; into the <mark>mangrove</mark> form" in html


def test_a_result_links_to_its_update(client: FlaskClient, corpus: Corpus) -> None:
    [result] = api(client, q="Bandung")["results"]
    asia = corpus.asia.updates[0]
    assert result == {
        "update_id": asia.id,
        "anchor": "asia",
        "title": "Asia (@rina)",
        "title_html": "Asia (@rina)",
        "snippet_html": result["snippet_html"],
        "url": "http://localhost/notes/asia-report#asia",
        "note": {
            "title": "Asia report",
            "slug": "asia-report",
            "language": "en",
            "url": "http://localhost/notes/asia-report",
        },
        "call": None,
        "date": "2025-06-10",
        "regions": [{"slug": "asia", "name": "Asia"}],
        "mentions": [{"slug": "indonesia", "name": "Indonesia"}],
        "speakers": [{"handle": "rina", "name": ""}],
    }
    assert "<mark>Bandung</mark>" in result["snippet_html"]


def test_the_apis_links_are_the_pages_links(client: FlaskClient, publish: Publish) -> None:
    """Each result's URL is its note's URL with the update's anchor, quoted as on the page
    (whose links also carry the words to highlight)."""
    publish("Informe regional", "## Améric'a Latina\n- Reforma de asistencia.\n", "2025-03-01")
    publish("Second report", "## Asia\n- Asistencia in Bandung.\n", "2025-04-01")
    results = api(client, q="asistencia")["results"]
    page = client.get("/search", query_string={"q": "asistencia"}).get_data(as_text=True)
    links = [urlsplit(unescape(link)) for link in re.findall(r'<h3><a href="([^"]+)"', page)]
    assert len(results) == 2 and len(links) == 2
    for result in results:
        path = result["url"].removeprefix("http://localhost")
        assert path in [f"{link.path}#{link.fragment}" for link in links]
        assert result["url"] == f"{result['note']['url']}#{path.split('#', 1)[1]}"


def test_a_result_links_with_the_words_it_was_found_by(
    client: FlaskClient, publish: Publish
) -> None:
    """The page's links carry the words marked in the result (as written, each once), for the
    note's page to mark them; the API's URL stays the plain address of the update."""
    publish("Paralegal report", "## Kenya\n- Paralegals met paralegals & <b>aid</b> workers.\n")
    page = client.get("/search", query_string={"q": "paralegal aid"}).get_data(as_text=True)
    [link] = re.findall(r'<h3><a href="([^"]+)"', page)
    path, _, anchor = unescape(link).partition("#")
    assert anchor == "kenya"
    assert parse_qs(urlsplit(path).query) == {"highlight": ["Paralegals aid"]}
    [result] = api(client, q="paralegal aid")["results"]
    assert result["url"] == "http://localhost/notes/paralegal-report#kenya"
