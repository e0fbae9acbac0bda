"""Posting pasted notes in a real browser: the split and tags appear as the team pastes, and a
suggested place is tagged in one click."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.db import db
from app.taxonomy.services import seed_regions

from ..conftest import PASSWORD

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"

PASTED = """\
Network Call Notes – 14 March

Global Updates

The legal aid summit will meet in Nairobi in June.

Regional Updates

  • Asia (@budi_s)
    • Nepal: paralegals trained in Pokhara.
  • @amara_k gave an update on the West Africa paralegal summit. It met in Dakar and Bamako.

Ways to Get Involved:

  • Share the toolkit.
"""


@pytest.fixture(scope="module")
def regions(live_app: Flask) -> None:
    with live_app.app_context():
        seed_regions(db.session)  # idempotent; the live database starts with none
        db.session.commit()


def sign_in(page: Any, live_server: str) -> None:
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server + "/")


def main_fits(page: Any) -> bool:
    """Whether the page's main content lays out within the window's width."""
    return page.evaluate(
        "() => { const main = document.querySelector('main');"
        " return main.scrollWidth <= main.clientWidth && main.getBoundingClientRect().right"
        " <= window.innerWidth; }"
    )


WIDTHS = [{"viewport": {"width": 390, "height": 844}}, {"viewport": {"width": 1280, "height": 900}}]


@pytest.mark.usefixtures("regions")
@pytest.mark.parametrize("page", WIDTHS, indirect=True, ids=["390px", "1280px"])
def test_pasted_notes_are_split_as_pasted_and_a_suggestion_is_one_click(
    page: Any, live_server: str
) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    slug = f"march-network-call-{width}"
    sign_in(page, live_server)
    page.goto(live_server + "/notes/new")
    page.get_by_label("Title").fill(f"March network call {width}")
    page.get_by_label("Notes (Markdown)").fill(PASTED)

    preview = page.locator("#note-preview")
    updates = preview.locator("section.preview-update")
    expect(updates).to_have_count(4)
    expect(preview.locator(".preview-summary")).to_have_text("4 updates")
    titles = [title.strip() for title in updates.locator("h3").all_inner_texts()]
    assert titles == [
        "Global Updates",
        "Asia (@budi_s)",
        "@amara_k gave an update on the West Africa paralegal summit",
        "Ways to Get Involved",
    ]
    asia = updates.nth(1)
    expect(asia.locator(".chip-region")).to_have_text(["Asia", "Nepal"])
    expect(asia.locator(".chip-presenter")).to_have_text("@budi_s")
    expect(updates.nth(2).locator(".chip-mention")).to_have_text(["Senegal", "Mali"])
    # Nairobi is where a global event meets: suggested, not tagged.
    expect(updates.nth(0).locator(".chip-suggested")).to_have_text("Kenya?")
    assert main_fits(page)
    page.screenshot(path=str(SHOTS / f"notes-editor-pasted-{width}.png"), full_page=True)

    page.get_by_label("Status").select_option("published")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(rf"/notes/{slug}$"))
    summit = page.locator("section.update").nth(2)
    expect(summit.get_by_role("list", name="About")).to_contain_text("West Africa")
    expect(summit.get_by_role("list", name="Places mentioned")).to_have_text(re.compile("Senegal"))
    assert main_fits(page)
    page.screenshot(path=str(SHOTS / f"note-about-and-mentions-{width}.png"), full_page=True)

    page.goto(f"{live_server}/notes/{slug}/tags")
    assert main_fits(page)
    page.get_by_role("button", name="Tag as mentioned: Kenya").click()
    page.wait_for_url(re.compile(rf"/notes/{slug}/tags"))
    expect(page.get_by_text("Tags saved.")).to_be_visible()
    expect(page.get_by_role("button", name="Tag as mentioned: Kenya")).to_have_count(0)
    expect(page.locator("#mentions-global-updates")).to_have_value("kenya")
    page.screenshot(path=str(SHOTS / f"notes-tag-editor-{width}.png"), full_page=True)
    page.goto(f"{live_server}/notes/{slug}")
    first = page.locator("section.update").first
    expect(first.get_by_role("list", name="Places mentioned")).to_have_text(re.compile("Kenya"))
