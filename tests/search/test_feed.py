"""A search as an Atom feed (/search.atom): its newest matches, read back with feedparser, as a
feed reader following it would; linked from the search page with the search's filters."""

from __future__ import annotations

import re
from html import unescape

import feedparser
from flask.testing import FlaskClient

from .conftest import A, Corpus, G, K, Publish

ATOM_TYPE = "application/atom+xml; charset=utf-8"


def read_feed(client: FlaskClient, **params: str) -> feedparser.FeedParserDict:
    response = client.get("/search.atom", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == ATOM_TYPE
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def test_a_search_feed_lists_its_matches_newest_first(client: FlaskClient, corpus: Corpus) -> None:
    parsed = read_feed(client, q="paralegal")
    # Newest first (the call's date, else the day of publication); the draft is not there.
    assert [entry.title for entry in parsed.entries] == [G, A, K]
    coalition = client.application.config["COALITION_NAME"]
    assert parsed.feed.title == f"{coalition}: \u201cparalegal\u201d"
    kenya = parsed.entries[2]
    assert kenya.link == "http://localhost/notes/kenya-report#kenya"
    assert "Paralegals in Nairobi" in kenya.content[0].value
    assert [tag.term for tag in kenya.tags] == ["kenya"]
    assert parsed.feed.link == "http://localhost/search?q=paralegal"
    self_link = next(link for link in parsed.feed.links if link.rel == "self")
    assert self_link.href == "http://localhost/search.atom?q=paralegal"
    assert len({entry.id for entry in parsed.entries}) == 3


def test_a_search_feed_keeps_the_searchs_filters(client: FlaskClient, corpus: Corpus) -> None:
    africa = read_feed(client, q="paralegal", region="africa")
    assert [entry.title for entry in africa.entries] == [K]
    assert africa.feed.title.endswith("\u201cparalegal\u201d in Africa")
    typed = read_feed(client, q="paralegal region:africa @amina")
    assert typed.feed.title.endswith("\u201cparalegal\u201d in Africa by @amina")
    assert read_feed(client, q="paralegal", speaker="@rina").entries[0].title == A
    dated = read_feed(client, q="paralegal", **{"from": "2025-01-01", "to": "2025-10-31"})
    assert [entry.title for entry in dated.entries] == [A]
    # Sorting and paging are the feed's own: newest first, from the first.
    assert read_feed(client, q="paralegal", sort="relevance", page="2").entries[0].title == G


def test_a_new_match_is_in_the_feed_and_an_unchanged_feed_is_not_sent_again(
    client: FlaskClient, corpus: Corpus, publish: Publish
) -> None:
    first = client.get("/search.atom", query_string={"q": "paralegal"})
    again = client.get(
        "/search.atom",
        query_string={"q": "paralegal"},
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304
    publish("December call", "## Kenya (@amina)\n- New paralegal desks.\n", "2025-12-09")
    changed = client.get(
        "/search.atom",
        query_string={"q": "paralegal"},
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert changed.status_code == 200
    assert feedparser.parse(changed.data).entries[0].link.endswith("/notes/december-call#kenya")


def test_a_search_feed_with_no_match_is_an_empty_feed(client: FlaskClient, corpus: Corpus) -> None:
    parsed = read_feed(client, q="nothing-like-it")
    assert parsed.entries == []
    assert parsed.feed.title.endswith("\u201cnothing-like-it\u201d")


def test_unusable_searches_are_refused_with_their_reason(
    client: FlaskClient, corpus: Corpus
) -> None:
    for params, reason in (
        ({"q": "water", "region": "atlantis"}, "There is no region 'atlantis'."),
        ({"q": "water", "from": "2025-13-01"}, "from"),
        ({"q": "-water"}, "Add a word to search for"),
        ({"q": "x" * 10_000 + '"'}, "The search is too long"),
    ):
        response = client.get("/search.atom", query_string=params)
        assert response.status_code == 400, params
        assert response.mimetype == "text/plain"
        assert reason in response.get_data(as_text=True)


def test_the_search_page_links_to_the_searchs_feed(client: FlaskClient, corpus: Corpus) -> None:
    page = client.get(
        "/search", query_string={"q": "paralegal", "region": "africa", "sort": "date", "page": "1"}
    ).get_data(as_text=True)
    alternate = re.search(
        r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]+)"', page
    )
    visible = re.search(r'<p class="follow"><a href="([^"]+)"', page)
    assert alternate and visible
    expected = "/search.atom?q=paralegal&region=africa"
    assert unescape(alternate.group(1)) == unescape(visible.group(1)) == expected
    # Followed, it is the same search's feed.
    assert [entry.title for entry in read_feed(client, q="paralegal", region="africa").entries] == [
        K
    ]
    # No search yet: no feed to follow.
    assert "application/atom+xml" not in client.get("/search").get_data(as_text=True)
