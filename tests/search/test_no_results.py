"""A search that finds nothing within its filters says whether its words are found without them,
and links to that search."""

from __future__ import annotations

import re
from html import unescape

from flask.testing import FlaskClient

from app.search.query import without_filters

from .conftest import Corpus, titles


def search_page(client: FlaskClient, **params: str) -> str:
    response = client.get("/search", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def elsewhere_link(page: str) -> tuple[str, str] | None:
    found = re.search(r'<p class="elsewhere">([^<]*)<a href="([^"]+)"', page)
    return None if found is None else (" ".join(found.group(1).split()), unescape(found.group(2)))


def test_words_found_only_outside_the_filters_are_offered_there(
    client: FlaskClient, corpus: Corpus
) -> None:
    # "Bandung" is in the Asia update alone.
    page = search_page(client, q="bandung", region="africa", sort="date")
    assert "0 updates found" in page
    assert elsewhere_link(page) == (
        "No update matches within these filters, but 1 does without them:",
        "/search?q=bandung&sort=date",
    )
    # Filters typed in the search text are left out of the link too.
    page = search_page(client, q="paralegal region:africa after:2025-12-01 @amina")
    text, link = elsewhere_link(page) or ("", "")
    assert text.endswith("but 3 do without them:")
    assert link == "/search?q=paralegal"
    assert titles(client, q="paralegal") == {"Kenya (@amina)", "Asia (@rina)", "Global updates"}


def test_no_offer_when_the_words_are_found_nowhere_or_nothing_is_filtered(
    client: FlaskClient, corpus: Corpus
) -> None:
    nowhere = search_page(client, q="baobab", region="africa")
    assert elsewhere_link(nowhere) is None
    assert "No updates match. Try fewer words" in nowhere
    unfiltered = search_page(client, q="baobab")
    assert elsewhere_link(unfiltered) is None and "No updates match." in unfiltered
    found = search_page(client, q="paralegal", region="africa")
    assert elsewhere_link(found) is None and "No updates match" not in found


def test_filters_are_taken_out_of_the_text_as_typed() -> None:
    assert without_filters('"legal aid" OR paralegal -draft region:africa') == (
        '"legal aid" OR paralegal -draft'
    )
    assert without_filters("@rina lang:es Escazú after:2025-01-01 speaker:@tomas") == "Escazú"
    # Not filters: an unknown name before a colon, a bare @, a colon with nothing after it.
    assert without_filters("time:10:00 @ note: paralegal") == "time:10:00 @ note: paralegal"
