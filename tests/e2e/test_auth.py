"""Signing in and out, and a missing page, in a real browser."""

from __future__ import annotations

from typing import Any

from ..conftest import PASSWORD


def test_sign_in_then_out(page: Any, live_server: str) -> None:
    page.goto(live_server + "/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(live_server + "/")
    assert page.get_by_text("Signed in as Ada Admin.").first.is_visible()
    page.get_by_role("link", name="Team").click()
    assert page.get_by_role("heading", name="Team").is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_server + "/")
    assert page.get_by_text("You are signed out.").is_visible()
    assert page.get_by_role("link", name="Sign in").is_visible()
    response = page.goto(live_server + "/team")
    assert response.url.startswith(live_server + "/login?next=/team")


def test_wrong_password_shows_a_message(page: Any, live_server: str) -> None:
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong email or password."


def test_missing_page_is_a_friendly_404(page: Any, live_server: str) -> None:
    response = page.goto(live_server + "/no/such/page")
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    page.get_by_role("link", name="Go to the home page").click()
    page.wait_for_url(live_server + "/")
    assert page.get_by_role("heading", name="Upcoming calls").is_visible()


def test_pages_load_no_remote_assets(page: Any, live_server: str) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server + "/login")
    page.wait_for_load_state("networkidle")
    assert requested and all(url.startswith(live_server) for url in requested)
