"""Signing in and out, throttling, roles and redirects, through HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from app.auth import services
from app.security import RateLimits

from ..conftest import IN_CI, PASSWORD, AuthActions, csrf_token


def test_sign_in_and_out(client: FlaskClient, auth: AuthActions, make_user: Any) -> None:
    make_user("rina@example.org", name="Rina")
    response = auth.login("Rina@Example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Signed in as Rina" in page and "Sign out" in page

    response = auth.logout()
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Sign out" not in page and "Sign in" in page


@pytest.mark.parametrize(
    ("email", "password"),
    [("rina@example.org", "wrong password"), ("nobody@example.org", PASSWORD)],
)
def test_wrong_credentials_are_refused_alike(
    auth: AuthActions, make_user: Any, email: str, password: str
) -> None:
    make_user("rina@example.org")
    response = auth.login(email, password)
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_inactive_accounts_cannot_sign_in(auth: AuthActions, make_user: Any, session: Any) -> None:
    user = make_user("gone@example.org")
    services.set_active(session, user, False)
    session.commit()
    assert auth.login("gone@example.org").status_code == 401


def test_deactivation_ends_open_sessions(
    client: FlaskClient, auth: AuthActions, make_user: Any, session: Any
) -> None:
    user = make_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    assert client.get("/team").status_code == 200
    services.set_active(session, user, False)
    session.commit()
    assert client.get("/team").status_code == 302


def test_invalid_form_is_a_4xx(client: FlaskClient) -> None:
    token = csrf_token(client)
    response = client.post(
        "/login", data={"email": "not-an-email", "password": "", "csrf_token": token}
    )
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_sixth_failure_for_an_account_within_a_minute_is_429(
    auth: AuthActions, make_user: Any
) -> None:
    make_user("rina@example.org")
    statuses = [auth.login("rina@example.org", "wrong password").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    # Throttled even with the right password, and from another address.
    assert auth.login("rina@example.org").status_code == 429
    other = AuthActions(auth.client.application.test_client())
    other.client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert other.login("rina@example.org").status_code == 429


def test_sixth_failure_from_one_address_within_a_minute_is_429(
    auth: AuthActions, make_user: Any
) -> None:
    make_user("rina@example.org")
    statuses = [auth.login(f"guess{i}@example.org", "wrong").status_code for i in range(6)]
    assert statuses == [401] * 5 + [429]
    assert auth.login("rina@example.org").status_code == 429
    elsewhere = AuthActions(auth.client.application.test_client())
    elsewhere.client.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert elsewhere.login("rina@example.org").status_code == 302


def test_429_page_is_html_with_a_message(auth: AuthActions) -> None:
    for _ in range(5):
        auth.login("x@example.org", "wrong")
    response = auth.login("x@example.org", "wrong")
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def _redis_url() -> str:
    url = "redis://127.0.0.1:6379"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        if IN_CI:
            raise
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    return url


def test_throttle_holds_across_workers_with_redis(app_factory: Any) -> None:
    """Two app instances (as two gunicorn workers would be) share one Redis-backed count."""
    storage = _redis_url()
    email = f"{uuid.uuid4().hex[:10]}@example.org"
    worker_a = AuthActions(app_factory(RATELIMIT_STORAGE_URI=storage).test_client())
    worker_b = AuthActions(app_factory(RATELIMIT_STORAGE_URI=storage).test_client())
    try:
        for worker in (worker_a, worker_b, worker_a, worker_b, worker_a):
            assert worker.login(email, "wrong password").status_code == 401
        assert worker_b.login(email, "wrong password").status_code == 429
    finally:
        limits = RateLimits(storage)
        limits.clear("5 per minute", f"login-failures:account:{email}")
        limits.clear("5 per minute", "login-failures:ip:127.0.0.1")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/team", "/team"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_next_only_redirects_within_the_site(
    client: FlaskClient, make_user: Any, target: str, expected: str
) -> None:
    make_user("admin@example.org", role="admin")
    data = {"email": "admin@example.org", "password": PASSWORD, "csrf_token": csrf_token(client)}
    response = client.post("/login", query_string={"next": target}, data=data)
    assert response.headers["Location"] == expected


def test_team_page_needs_an_admin(client: FlaskClient, auth: AuthActions, make_user: Any) -> None:
    response = client.get("/team")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/team")

    make_user("editor@example.org", role="editor")
    auth.login("editor@example.org")
    response = client.get("/team")
    assert response.status_code == 403
    assert "permission" in response.get_data(as_text=True)


def test_admins_see_the_team(client: FlaskClient, auth: AuthActions, make_user: Any) -> None:
    make_user("admin@example.org", role="admin", name="Ada Admin")
    make_user("kofi@example.org", role="editor", name="Kofi")
    auth.login("admin@example.org")
    page = client.get("/team").get_data(as_text=True)
    assert "Ada Admin" in page and "Kofi" in page and "Editor" in page


def test_account_settings_set_the_server_side_zone(
    client: FlaskClient, auth: AuthActions, make_user: Any, session: Any
) -> None:
    user = make_user("rina@example.org", name="Rina")
    auth.login("rina@example.org")
    token = csrf_token(client, "/account")
    data = {"name": "Rina S.", "locale": "", "timezone": "Asia/Jakarta", "csrf_token": token}
    assert client.post("/account", data=data).status_code == 302
    session.expire_all()
    assert (user.name, user.timezone, user.locale) == ("Rina S.", "Asia/Jakarta", None)
    bad = client.post("/account", data=data | {"timezone": "Asia/Atlantis"})
    assert bad.status_code == 422 and "not a known time zone" in bad.get_data(as_text=True)
    session.expire_all()
    assert user.timezone == "Asia/Jakarta"
