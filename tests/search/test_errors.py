"""Input a search cannot use is a 400 that says why (JSON under /api/, the form on the page);
search syntax typed by accident is read as words, never passed to the database (no 500s: the
`app` fixture fails any test in which a request raised)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from .conftest import K, api, refused, titles

pytestmark = pytest.mark.usefixtures("corpus")

BAD = [
    ({"q": "x" * 10_000}, "too long"),
    ({"q": "paralegal\x00"}, "NUL"),
    ({"q": " ".join(f"word{n}" for n in range(17))}, "at most 16"),
    ({"q": "region:atlantis"}, "There is no region 'atlantis'"),
    ({"q": "paralegal", "region": "atlantis"}, "There is no region 'atlantis'"),
    ({"q": "region:<script>"}, "is not a region's name"),
    ({"q": "speaker:@nobody"}, "No one with the handle @nobody"),
    ({"q": "@nobody"}, "No one with the handle @nobody"),
    ({"speaker": "@nobody"}, "No one with the handle @nobody"),
    ({"speaker": "@@"}, "is not a handle"),
    ({"q": "series:no-such-series"}, "There is no series 'no-such-series'"),
    ({"q": "after:2025-13-01"}, "after: '2025-13-01' is not a date"),
    ({"q": "before:yesterday"}, "before: 'yesterday' is not a date"),
    ({"from": "2025-02-30"}, "from: '2025-02-30' is not a date"),
    ({"to": "31/12/2025"}, "to: '31/12/2025' is not a date"),
    ({"from": "2025-06-02", "to": "2025-06-01"}, "The start date comes after the end date"),
    ({"q": "after:2025-06-02 before:2025-06-01"}, "The start date comes after the end date"),
    ({"q": "lang:english!"}, "is not a language code"),
    ({"page": "0"}, "pages run from 1 to 500"),
    ({"page": "501"}, "pages run from 1 to 500"),
    ({"page": "-1"}, "is not a page number"),
    ({"page": "two"}, "is not a page number"),
    ({"page": "9" * 40}, "is not a page number"),
    ({"sort": "newest"}, "sort: 'newest' is not one of relevance, date"),
    ({"per_page": "0"}, "per_page: give a number from 1 to 100"),
    ({"per_page": "101"}, "per_page: give a number from 1 to 100"),
    ({"per_page": "ten"}, "per_page: give a number from 1 to 100"),
    ({"q": "-funding"}, "cannot hold only exclusions"),
    ({"q": '-funding -"legal aid"'}, "cannot hold only exclusions"),
]
# Search syntax with no word in it: it would list every update, so it is refused.
NO_WORDS = ["*", '"', '""', "^", ":", "(", ")", "OR", "OR OR", "( ) * ^ :", "-", "-*", "- ^"]


@pytest.mark.parametrize(("params", "message"), BAD)
def test_bad_input_is_a_400_that_says_why(
    client: FlaskClient, params: dict[str, Any], message: str
) -> None:
    assert message in refused(client, **params)


@pytest.mark.parametrize("q", NO_WORDS)
def test_syntax_without_words_is_refused(client: FlaskClient, q: str) -> None:
    assert "Add a word to search for" in refused(client, q=q)


@pytest.mark.parametrize("q", ["AND", "NOT", "OR NOT", '" OR "', "NOT*", "AND(OR)"])
def test_operators_that_are_common_words_are_refused(client: FlaskClient, q: str) -> None:
    """Words the backends' own syntax would read as operators are searched as words; these
    are also stop words, left out on both backends, which leaves nothing to search for."""
    assert "only very common words" in refused(client, q=q)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("NEAR", set()),
        ("NEAR/2", set()),
        ("paralegal*", {K, "Asia (@rina)", "Global updates"}),  # no prefix search: the word
        ("paralegal AND nairobi", {K}),  # AND is a word, and a very common one: dropped
        ("(paralegal OR nairobi) AND ^nairobi", {K}),
        ('paralegal NEAR("legal aid", 2)', set()),  # "near" and "2" are words to find
        ('paralegal: "legal aid" ^ * ( ) NEAR AND OR NOT', set()),
        ("* paralegal ^ : ( ) nairobi", {K}),
        ("body:nairobi", set()),  # not a column: the words "body nairobi" side by side
        ('paralegal nairobi "', {K}),  # a lone quote is closed, empty
        ("paralegal OR", {K, "Asia (@rina)", "Global updates"}),
        ("OR paralegal nairobi", {K}),
        ('"legal aid', {K}),  # a quote left open is closed at the end
    ],
)
def test_search_syntax_is_read_as_words(client: FlaskClient, q: str, expected: set[str]) -> None:
    assert titles(client, q=q) == expected


def test_an_open_quote_is_closed_with_a_notice(client: FlaskClient) -> None:
    body = api(client, q='"legal aid')
    assert body["notices"] == ["A quote was left open; it was closed at the end of the search."]
    assert [result["title"] for result in body["results"]] == [K]


def test_the_page_shows_the_error_and_keeps_the_form(client: FlaskClient) -> None:
    response = client.get("/search", query_string={"q": "-funding", "sort": "date"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'role="alert" id="search-error">Add a word to search for' in html
    assert '<form method="get" action="/search" role="search"' in html
    assert 'name="q" value="-funding"' in html
    assert '<option value="date" selected>' in html
    assert 'aria-invalid="true"' in html
    assert "updates found" not in html


@pytest.mark.parametrize(
    ("params", "message", "invalid"),
    [
        ({"q": "x", "region": "atlantis"}, "There is no region &#39;atlantis&#39;.", "region"),
        ({"speaker": "@nobody"}, "No one with the handle @nobody", "speaker"),
        ({"q": "x", "from": "2025-06-02", "to": "2025-06-01"}, "The start date comes", "from"),
        ({"q": "x", "page": "two"}, "is not a page number", None),
        ({"q": "*"}, "Add a word to search for", "q"),
        ({"q": "x" * 10_000}, "The search is too long", "q"),
    ],
)
def test_the_page_names_each_error(
    client: FlaskClient, params: dict[str, Any], message: str, invalid: str | None
) -> None:
    response = client.get("/search", query_string=params)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="search-error"' in html and message in html
    assert 'role="search"' in html and '<button type="submit">Search</button>' in html
    if invalid is not None:
        field = 'name="q"' if invalid == "q" else f'name="{invalid}"'
        tag = html[html.rindex("<", 0, html.index(field)) : html.index(">", html.index(field))]
        assert 'aria-invalid="true"' in tag, tag
