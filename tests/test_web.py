"""The web shell: security headers, error pages, languages and Babel formatting."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from app.i18n import LOCALE_COOKIE

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/login", 200),
        ("GET", "/api/", 200),
        ("GET", "/static/css/app.css", 200),
        ("GET", "/no-such-page", 404),
        ("GET", "/api/no-such-thing", 404),
        ("GET", "/logout", 405),
        ("POST", "/login", 400),
        ("GET", "/team", 302),
    ],
)
def test_security_headers_on_every_response(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    with client.open(path, method=method) as response:
        assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_pages_have_no_inline_script(client: FlaskClient) -> None:
    for path in ("/", "/login", "/missing"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and "onclick=" not in html and "style=" not in html


@pytest.mark.parametrize(
    ("method", "path", "status", "title"),
    [
        ("GET", "/missing", 404, "Page not found"),
        ("GET", "/logout", 405, "Method not allowed"),
    ],
)
def test_html_error_pages(
    client: FlaskClient, method: str, path: str, status: int, title: str
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in html and 'href="/"' in html


def test_405_keeps_the_allow_header(client: FlaskClient) -> None:
    assert "POST" in client.get("/logout").headers["Allow"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/missing", 404), ("POST", "/api/", 405)],
)
def test_json_errors_under_api(client: FlaskClient, method: str, path: str, status: int) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.get_json()["error"]["status"] == status


@pytest.fixture
def failing_app(app_factory: Any) -> Flask:
    app = app_factory(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    @app.get("/api/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    return app


def test_500_page_hides_the_details(failing_app: Flask) -> None:
    client = failing_app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html and "secret detail" not in html
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    api = client.get("/api/boom")
    assert api.status_code == 500 and api.get_json()["error"]["status"] == 500


@pytest.fixture
def bilingual(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setitem(app.config, "LANGUAGES", ("en", "fr"))
    return app


def _lang(client: FlaskClient, **headers: str) -> str:
    html = client.get("/", headers=headers).get_data(as_text=True)
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_locale_follows_accept_language(bilingual: Flask) -> None:
    client = bilingual.test_client()
    assert _lang(client, **{"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}) == "fr"
    assert _lang(client, **{"Accept-Language": "de"}) == "en"


def test_visitor_choice_beats_accept_language(bilingual: Flask) -> None:
    client = bilingual.test_client()
    response = client.get("/language", query_string={"locale": "en", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert _lang(client, **{"Accept-Language": "fr"}) == "en"


def test_unsupported_choice_is_ignored(bilingual: Flask) -> None:
    client = bilingual.test_client()
    client.get("/language", query_string={"locale": "xx"})
    assert client.get_cookie(LOCALE_COOKIE) is None


def test_signed_in_user_choice_comes_first(
    bilingual: Flask, auth: Any, make_user: Any, session: Any
) -> None:
    user = make_user("amelie@example.org")
    user.locale = "fr"
    session.commit()
    auth.login("amelie@example.org")
    auth.client.set_cookie(LOCALE_COOKIE, "en")
    assert _lang(auth.client, **{"Accept-Language": "en"}) == "fr"


def test_dates_are_formatted_by_babel_for_the_locale(bilingual: Flask) -> None:
    moment = dt.datetime(2026, 11, 10, 15, 0, tzinfo=dt.UTC)
    template = "{{ moment|datetimeformat('long') }}"
    with bilingual.test_request_context(headers={"Accept-Language": "fr"}):
        assert "10 novembre 2026" in render_template_string(template, moment=moment)
    with bilingual.test_request_context(headers={"Accept-Language": "en"}):
        assert "November 10, 2026" in render_template_string(template, moment=moment)
