"""The subscribe page: each client's link, the copy button, instructions and refresh delays."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from .conftest import Scenario, build_scenario


@pytest.fixture
def scenario(session: Session) -> Scenario:
    built = build_scenario(session, dt.datetime.now(dt.UTC).replace(microsecond=0))
    session.commit()
    return built


def hrefs(page: str, testid: str) -> list[str]:
    pattern = rf'href="([^"]+)"[^>]*data-testid="{testid}"'
    return [html.unescape(found) for found in re.findall(pattern, page)]


def test_coalition_page(client: FlaskClient, scenario: Scenario) -> None:
    page = client.get("/subscribe").get_data(as_text=True)
    assert hrefs(page, "webcal") == ["webcal://localhost/calendar.ics"]
    (google,) = hrefs(page, "google")
    assert google.startswith("https://calendar.google.com/calendar/render?")
    assert parse_qs(urlsplit(google).query)["cid"] == ["webcal://localhost/calendar.ics"]
    (outlook,) = hrefs(page, "outlook")
    assert outlook.startswith("https://outlook.live.com/calendar/0/addfromweb?")
    query = parse_qs(urlsplit(outlook).query)
    assert query["url"] == ["http://localhost/calendar.ics"] and query["name"] == [
        "All calls of Convene"
    ]
    # The address with a copy button (app.js copies the element named by data-copy).
    match = re.search(r'<output id="([^"]+)"[^>]*>([^<]+)</output>', page)
    assert match and match.group(2) == "http://localhost/calendar.ics"
    assert f'data-copy="{match.group(1)}"' in page
    for client_name in ("Google Calendar", "Outlook", "Apple Calendar", "Thunderbird"):
        assert client_name in page
    assert "up to a day" in page and "publish changes early" in page
    assert "about every 3 hours" in page and "every 30 minutes" in page
    assert hrefs(page, "atom") == ["http://localhost/notes.atom"]
    assert "<script>" not in page  # CSP: no inline script


def test_series_and_region_pages(client: FlaskClient, scenario: Scenario) -> None:
    series_page = client.get(f"/subscribe/series/{scenario.slug}").get_data(as_text=True)
    assert hrefs(series_page, "webcal") == [
        f"webcal://localhost/series/{scenario.slug}.ics",
        "webcal://localhost/calendar.ics",
    ]
    region_page = client.get("/subscribe/regions/africa").get_data(as_text=True)
    assert hrefs(region_page, "webcal")[0] == "webcal://localhost/regions/africa.ics"
    assert hrefs(region_page, "atom") == ["http://localhost/regions/africa.atom"]
    for path in ("/subscribe/series/no-such-series", "/subscribe/regions/atlantis"):
        assert client.get(path).status_code == 404


def test_linked_from_nav_call_series_and_region(client: FlaskClient, scenario: Scenario) -> None:
    assert 'href="/subscribe"' in client.get("/").get_data(as_text=True)
    call_page = client.get(f"/calls/{scenario.moved_id}").get_data(as_text=True)
    (call_link,) = hrefs(call_page, "subscribe")
    assert call_link.startswith("/subscribe/series/")  # the call's series
    series_page = client.get(f"/series/{scenario.slug}").get_data(as_text=True)
    assert hrefs(series_page, "subscribe") == [f"/subscribe/series/{scenario.slug}"]
    region_page = client.get("/regions/africa").get_data(as_text=True)
    assert hrefs(region_page, "subscribe") == ["/subscribe/regions/africa"]
    extra_page = client.get(f"/calls/{scenario.extra_id}").get_data(as_text=True)
    assert hrefs(extra_page, "subscribe") == ["/subscribe"]  # no series: the whole calendar
