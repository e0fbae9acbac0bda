"""Call times in a real browser set to another time zone."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from app.calls import services
from app.db import db, utcnow


@pytest.fixture(scope="module")
def upcoming_call_id(live_app: Flask) -> int:
    with live_app.app_context():
        series = services.find_series(db.session, "browser-call") or services.create_series(
            db.session,
            services.SeriesInput(
                title="Browser call",
                timezone="America/New_York",
                start_time="10:00",
                rrule="FREQ=MONTHLY;BYDAY=2TU",
                first_date=utcnow().date().isoformat(),
            ),
        )
        db.session.commit()
        return services.upcoming_calls(db.session, utcnow(), limit=1, series=series)[0].id


@pytest.mark.parametrize("page", [{"timezone_id": "Asia/Jakarta"}], indirect=True)
def test_viewer_in_jakarta_sees_the_jakarta_time(
    page: Any, live_server: str, live_app: Flask, upcoming_call_id: int
) -> None:
    with live_app.app_context():
        call = services.get_call(db.session, upcoming_call_id)
        expected = call.start_at.astimezone(ZoneInfo("Asia/Jakarta"))
    page.goto(f"{live_server}/calls/{upcoming_call_id}")
    your_time = page.locator("time[data-local-time]")
    assert your_time.get_attribute("data-zone") == "Asia/Jakarta"
    text = your_time.inner_text()
    assert "(Asia/Jakarta)" in text
    # 10:00 in New York is 22:00 in Jakarta in winter, 21:00 in summer: the browser's own zone.
    twelve_hour = expected.strftime("%I:%M %p").lstrip("0")
    assert twelve_hour in text, text
    assert expected.strftime("%A") in text
    assert twelve_hour in page.locator('tr[data-zone="Asia/Jakarta"]').inner_text()


@pytest.mark.parametrize("page", [{"timezone_id": "America/Los_Angeles"}], indirect=True)
def test_copy_button_copies_the_announcement(
    page: Any, live_server: str, upcoming_call_id: int
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{live_server}/calls/{upcoming_call_id}")
    page.get_by_role("button", name="Copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert re.match(r"^\w+ \d+ \w+, 10:00 AM New York // ", copied), copied
    assert page.get_by_role("button", name="Copied").is_visible()
    assert "Los Angeles" in page.locator("time[data-local-time]").inner_text()


def test_home_lists_the_call(page: Any, live_server: str, upcoming_call_id: int) -> None:
    page.goto(live_server + "/")
    card = page.locator(f'article[data-call-id="{upcoming_call_id}"]')
    assert "Browser call" in card.inner_text()
    card.get_by_role("link", name="Browser call").click()
    page.wait_for_url(f"{live_server}/calls/{upcoming_call_id}")
    year = int(re.search(r"\b(20\d\d)\b", page.inner_text(".call-when")).group(1))
    assert year >= dt.date.today().year
