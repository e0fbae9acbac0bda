"""Searching in a real browser: choose a region, see only its updates, open one at its anchor."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask

from app.db import db
from app.notes.services import NoteInput, find_note, save_note
from app.taxonomy.services import seed_regions

# Each note has a long first update, so that the browser must scroll to reach the second.
FILLER = "\n".join(f"- Baobab seedling count, week {week}: steady." for week in range(1, 61))
NOTES = {
    "browser-search-kenya": (
        "Browser search: Kenya",
        f"## Asia (@rina)\n{FILLER}\n\n## Kenya (@amina)\n- Baobab nursery opened in Kitui.\n",
    ),
    "browser-search-peru": ("Browser search: Peru", "## Peru\n- Baobab trees do not grow here.\n"),
}


@pytest.fixture(scope="module")
def notes(live_app: Flask) -> None:
    """The region tree and two published notes about baobabs, in the live server's database."""
    with live_app.app_context():
        seed_regions(db.session)  # idempotent; the live database starts with none
        for slug, (title, body) in NOTES.items():
            if find_note(db.session, slug) is None:
                data = NoteInput(title=title, body=body, status="published", slug=slug)
                save_note(db.session, data)
        db.session.commit()


@pytest.mark.usefixtures("notes")
def test_a_region_search_opens_the_update_at_its_anchor(page: Any, live_server: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/search")
    page.get_by_label('Words or "phrases"').fill("baobab")
    page.locator('select[name="region"]').select_option("africa")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(re.compile(r"/search\?.*region=africa"))

    results = page.locator("article.search-result")
    expect(results).to_have_count(1)
    result = results.first
    expect(result.get_by_role("link").first).to_have_text("Kenya (@amina)")
    expect(result.locator(".snippet mark").first).to_have_text(re.compile("^baobab$", re.I))
    expect(page.locator("#results-title")).to_have_text("1 update found")
    expect(page.locator('select[name="region"]')).to_have_value("africa")
    assert "Peru" not in page.locator(".search-layout").inner_text()
    assert "Asia (@rina)" not in page.locator(".search-layout").inner_text()

    result.get_by_role("link", name="Kenya (@amina)").click()
    # The link carries the words the result was found by, as the snippet marked them.
    page.wait_for_url(f"{live_server}/notes/browser-search-kenya?highlight=Baobab#kenya")
    assert page.evaluate("location.hash") == "#kenya"
    update = page.locator("#kenya")
    expect(update).to_be_visible()
    expect(update).to_be_in_viewport()
    expect(update).to_contain_text("Baobab nursery opened in Kitui.")
    # The browser scrolled past the first update to reach it.
    assert page.evaluate("window.scrollY") > 0
    expect(page.locator("#asia-title")).not_to_be_in_viewport()
    # The update opened is marked as such in the note, and only it.
    expect(page.locator("section.update:target")).to_have_attribute("id", "kenya")
    assert border_left(page, "#kenya") != "0px"
    assert border_left(page, "#asia") == "0px"
    # Those words are marked in the update opened, not in the others ("Baobab seedling count").
    expect(page.locator("#kenya mark.search-word")).to_have_text(["Baobab"])
    expect(page.locator("#asia mark.search-word")).to_have_count(0)


def border_left(page: Any, selector: str) -> str:
    return page.evaluate(
        "selector => getComputedStyle(document.querySelector(selector)).borderLeftWidth", selector
    )


@pytest.mark.usefixtures("notes")
def test_the_highlighted_words_stay_text(page: Any, live_server: str) -> None:
    """Whatever the address holds, the note's page marks words and makes nothing else of it:
    markup stays text, regular-expression characters match themselves."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    words = quote('<img src=x onerror="window.__xss=1"> (.*) kitui [')
    page.goto(f"{live_server}/notes/browser-search-kenya?highlight={words}#kenya")
    page.wait_for_load_state("load")
    from playwright.sync_api import expect

    expect(page.locator("#kenya mark.search-word")).to_have_text(["Kitui"])
    assert page.locator("#kenya img").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
    # A malformed anchor marks the whole note rather than fail.
    page.goto(f"{live_server}/notes/browser-search-kenya?highlight=Kitui#%E0%A4%A")
    page.wait_for_load_state("load")
    expect(page.locator("main mark.search-word")).to_have_text(["Kitui"])
