"""The search page: the form, its state kept in the URL, results linking to their updates."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from .conftest import Publish

pytestmark = pytest.mark.usefixtures("corpus")


def page(client: FlaskClient, **params: str) -> str:
    response = client.get("/search", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def result_links(html: str) -> list[str]:
    return re.findall(r'<article class="search-result">\s*<h3><a href="([^"]+)"', html)


def test_the_empty_form_searches_nothing(client: FlaskClient) -> None:
    html = page(client)
    assert 'role="search"' in html and "updates found" not in html
    assert '<option value="east-and-horn-of-africa">' in html  # regions to choose from
    assert '<option value="@rina">' in html  # speakers to suggest


def test_results_link_to_their_updates_with_marks(client: FlaskClient) -> None:
    html = page(client, q="paralegals", region="africa")
    assert "1 update found" in html
    # With the words it was found by, for the note's page to highlight.
    assert result_links(html) == ["/notes/kenya-report?highlight=Paralegals#kenya"]
    assert "<mark>Paralegals</mark> in Nairobi" in html
    assert '<option value="africa" selected>' in html  # the form keeps the choice
    assert 'name="q" value="paralegals"' in html


def test_the_speaker_field_and_date_fields_filter(client: FlaskClient) -> None:
    assert result_links(page(client, speaker="@amina")) == ["/notes/kenya-report#kenya"]
    html = page(client, **{"from": "2025-11-01", "to": "2025-11-30"})
    assert result_links(html) == ["/notes/november-call#global-updates"]
    assert 'name="from" value="2025-11-01"' in html


def test_pages_link_to_each_other(client: FlaskClient, publish: Publish) -> None:
    for number in range(1, 23):
        publish(f"Harvest {number}", f"## Harvest {number}\n- Harvest news.\n", "2025-03-01")
    first = page(client, q="harvest", sort="date")
    assert "22 updates found" in first and "Page 1 of 2" in first
    assert len(result_links(first)) == 20
    assert 'href="/search?q=harvest&amp;sort=date&amp;page=2" rel="next"' in first
    second = page(client, q="harvest", sort="date", page="2")
    assert "Page 2 of 2" in second and 'rel="prev"' in second and 'rel="next"' not in second
    assert len(result_links(second)) == 2
    assert not set(result_links(first)) & set(result_links(second))
