"""Very common words: the same stop list on both backends, left out before either sees the query.

PostgreSQL's English configuration drops "the", "not" or "about" from a tsquery while SQLite FTS5
would search them; the parser leaves out PostgreSQL's English list and the Spanish, French and
Portuguese ones, so a search finds the same updates on either database.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from app.search import query

from .conftest import A, B, G, K, api, refused, titles

pytestmark = pytest.mark.usefixtures("corpus")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("the paralegals", {K, A, G}),  # stemmed: paralegal, paralegals
        ("Nairobi about the", {K}),
        ("Recife OR the Nairobi", {K, B}),  # as if "the" had not been typed
        ("paralegal -the", {K, A, G}),  # excluding a stop word excludes nothing
        ('paralegal -"of the"', {K, A, G}),
        ("El Acuerdo", {B}),  # Spanish "el": left out, not a word every update lacks
        ("él acuerdo", {B}),  # accents are ignored in the stop list as in the indexes
        ("Bandung not", {A}),
        ("paralegals region:africa the", {K}),
    ],
)
def test_stop_words_are_left_out(client: FlaskClient, q: str, expected: set[str]) -> None:
    assert titles(client, q=q) == expected


@pytest.mark.parametrize("q", ["the", "The about NOT", '"of the"', "-the the", "el la les da"])
def test_only_stop_words_is_refused(client: FlaskClient, q: str) -> None:
    message = refused(client, q=q)
    assert "only very common words" in message


def test_stop_words_with_a_filter_search_the_filter(client: FlaskClient) -> None:
    assert titles(client, q="the region:africa") == {K}


def test_parser_keeps_other_words() -> None:
    parsed = query.parse('the Escazú "legal aid" -not')
    assert [[term.text for term in clause] for clause in parsed.clauses] == [
        ["Escazú"],
        ["legal aid"],
    ]
    assert parsed.excluded == []
    assert parsed.stopwords == ["the", "not"]


def test_the_stop_list_holds_postgresqls_english_list() -> None:
    for word in ("the", "not", "about", "will", "own", "very", "de", "les", "não"):
        assert query.is_stopword_term(query.Term(word)), word
    for word in ("paralegal", "legal", "aid", "escazu", "campaign"):
        assert not query.is_stopword_term(query.Term(word)), word


def test_api_total_without_facets_matches_with_facets(client: FlaskClient) -> None:
    """The total comes from the year counts with facets, from the page or a count without."""
    params: dict[str, Any] = {"q": "paralegal", "per_page": 1}
    with_facets = api(client, **params)
    for page in (1, 2, 3, 4):
        without = api(client, **params, facets=0, page=page)
        assert without["total"] == with_facets["total"] == 3
    # With a filter as well (PostgreSQL counts the words' matches first, then filters them).
    params["from"] = "2025-01-01"  # Asia's and the call's, not Kenya's
    with_facets = api(client, **params)
    for page in (1, 2, 3):
        without = api(client, **params, facets=0, page=page)
        assert without["total"] == with_facets["total"] == 2
