"""Search filters, typed in the text or given as form fields: region (with the regions below
it), speaker, series, dates and language."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from .conftest import A, B, Corpus, G, K, api, titles

pytestmark = pytest.mark.usefixtures("corpus")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "region:kenya"}, {K}),
        ({"q": "region:africa"}, {K}),
        ({"q": "region:sub-saharan-africa"}, {K}),
        ({"q": "region:east-and-horn-of-africa"}, {K}),
        # The M49 name of Kenya's sub-region, an alias of the coalition's "East and Horn of Africa".
        ({"q": "region:eastern-africa"}, {K}),
        ({"q": "region:asia"}, {A}),
        ({"q": "region:americas"}, {B}),
        ({"q": "region:global"}, {K, A, B, G}),
        ({"q": "paralegals region:africa"}, {K}),
        ({"q": "paralegals region:asia"}, {A}),
        ({"q": "paralegals REGION:Africa"}, {K}),
        ({"q": "region:africa region:asia"}, {K, A}),  # a filter given twice: either
        ({"q": "paralegals", "region": "africa"}, {K}),
        ({"q": "paralegals", "region": ["asia", "africa"]}, {K, A}),
        ({"region": "eastern-africa"}, {K}),
        ({"q": "Recife region:asia"}, set()),
    ],
)
def test_region_filter_includes_the_regions_below(
    client: FlaskClient, params: dict[str, Any], expected: set[str]
) -> None:
    assert titles(client, **params) == expected


def test_region_filter_reports_the_regions_it_resolved(client: FlaskClient) -> None:
    body = api(client, q="region:eastern-africa", region="asia")
    assert body["filters"]["regions"] == ["east-and-horn-of-africa", "asia"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "speaker:@rina"}, {A, B}),
        ({"q": "speaker:rina"}, {A, B}),
        ({"q": "@rina"}, {A, B}),
        ({"q": "@Rina"}, {A, B}),
        ({"q": "@amina"}, {K}),
        ({"q": "@amina @rina"}, {K, A, B}),
        ({"q": "Bandung @rina"}, {A}),
        ({"q": "Bandung @amina"}, set()),
        ({"speaker": "@rina"}, {A, B}),
        ({"speaker": "rina"}, {A, B}),
        ({"q": "legal", "speaker": "@amina"}, {K}),
        ({"q": "@rina region:asia"}, {A}),
    ],
)
def test_speaker_filter(client: FlaskClient, params: dict[str, Any], expected: set[str]) -> None:
    assert titles(client, **params) == expected


def test_speaker_filter_reports_the_handles(client: FlaskClient) -> None:
    assert api(client, q="@Rina", speaker="amina")["filters"]["speakers"] == ["rina", "amina"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "series:coalition-call"}, {G}),
        ({"q": "paralegal series:coalition-call"}, {G}),
        ({"series": "coalition-call"}, {G}),
        ({"q": "Bandung", "series": "coalition-call"}, set()),
    ],
)
def test_series_filter(client: FlaskClient, params: dict[str, Any], expected: set[str]) -> None:
    assert titles(client, **params) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "after:2025-06-10"}, {A, B, G}),  # inclusive
        ({"q": "before:2025-06-10"}, {K, A}),  # inclusive
        ({"q": "after:2025-06-11 before:2025-09-01"}, {B}),
        ({"q": "paralegal before:2024-12-31"}, {K}),
        ({"from": "2025-06-10", "to": "2025-06-10"}, {A}),
        ({"from": "2025-01-01"}, {A, B, G}),
        ({"to": "2024-12-31"}, {K}),
        ({"q": "paralegal", "from": "2025-01-01", "to": "2025-12-31"}, {A, G}),
        # A note of a call is filed under the call's date (in the call's zone), not the day it
        # was published.
        ({"from": "2025-11-11", "to": "2025-11-11"}, {G}),
        ({"from": "2025-11-12"}, set()),
    ],
)
def test_date_filters(client: FlaskClient, params: dict[str, Any], expected: set[str]) -> None:
    assert titles(client, **params) == expected


def test_date_filters_are_reported_and_dated_results(client: FlaskClient) -> None:
    body = api(client, q="after:2025-11-01", to="2025-11-30")
    assert (body["filters"]["from"], body["filters"]["to"]) == ("2025-11-01", "2025-11-30")
    [result] = body["results"]
    assert result["date"] == "2025-11-11"
    assert result["call"]["start"] == "2025-11-11T15:00:00Z"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "lang:es"}, {B}),
        ({"q": "lang:ES"}, {B}),
        ({"lang": "es"}, {B}),
        ({"q": "lang:en"}, {K, A, G}),
        ({"q": "paralegal lang:en"}, {K, A, G}),
        ({"q": "Escazú lang:en"}, set()),
        ({"q": "lang:fr"}, set()),
    ],
)
def test_language_filter(client: FlaskClient, params: dict[str, Any], expected: set[str]) -> None:
    assert titles(client, **params) == expected


def test_filters_alone_list_by_date_and_drafts_stay_out(
    client: FlaskClient, corpus: Corpus
) -> None:
    body = api(client)
    assert [result["title"] for result in body["results"]] == [G, B, A, K]
    assert body["total"] == 4
    assert titles(client, q="region:europe") == set()
    assert api(client, q="@sam")["total"] == 0  # the draft's speaker exists, the draft is hidden
