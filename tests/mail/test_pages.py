"""The subscription pages: the same answer for new and known addresses, confirmation by a
button (not by following the link), preferences by token, one-click unsubscribe."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.mail import services
from app.mail.models import Delivery, Subscriber
from app.security import rate_limits

from ..conftest import csrf_token


@pytest.fixture(autouse=True)
def fresh_limits() -> None:
    rate_limits().reset()


def subscribe(client: FlaskClient, email: str, **fields: object) -> tuple[int, str]:
    data = {
        "email": email,
        "wants_reminders": "y",
        "wants_digests": "y",
        "timezone": "Africa/Nairobi",
        "language": "en",
        "csrf_token": csrf_token(client, "/email"),
        **fields,
    }
    response = client.post("/email", data=data)
    return response.status_code, response.get_data(as_text=True)


def subscriber(session: Session, email: str) -> Subscriber | None:
    session.expire_all()
    return session.scalar(sa.select(Subscriber).where(Subscriber.email == email))


def test_new_and_known_addresses_get_the_same_answer(client: FlaskClient, session: Session) -> None:
    status, new = subscribe(client, "amina@example.org", regions=["africa", "asia"])
    assert status == 200 and "Check your inbox" in new
    amina = subscriber(session, "amina@example.org")
    assert amina is not None and amina.status == "pending"
    assert sorted(r.slug for r in amina.regions) == ["africa", "asia"]
    assert amina.timezone == "Africa/Nairobi"
    services.confirm(session, services.confirm_token(amina))
    session.commit()
    status, known = subscribe(client, "amina@example.org", regions=["europe"])
    assert status == 200
    strip = re.compile(r'name="csrf_token"[^>]*>')
    assert strip.sub("", known) == strip.sub("", new)
    assert [r.slug for r in subscriber(session, "amina@example.org").regions] == [
        "africa",
        "asia",
    ]  # a stranger cannot change a confirmed subscription


@pytest.mark.parametrize(
    ("email", "fields", "message"),
    [
        ("not-an-address", {}, "email"),
        ("a@example.org\r\nBcc: b@example.org", {}, "email"),
        ("a@example.org", {"regions": ["atlantis"]}, "There is no region"),
        ("a@example.org", {"timezone": "Mars/Olympus"}, "is not a time zone"),
    ],
)
def test_bad_input_is_422_and_changes_nothing(
    client: FlaskClient, session: Session, email: str, fields: dict, message: str
) -> None:
    status, body = subscribe(client, email, **fields)
    assert status == 422 and message in body and 'aria-invalid="true"' in body
    assert session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) == 0


def test_subscribing_is_throttled_per_address(client: FlaskClient) -> None:
    for _ in range(3):
        assert subscribe(client, "amina@example.org")[0] == 200
    assert subscribe(client, "amina@example.org")[0] == 429


def test_confirming_takes_a_button_and_works_once(client: FlaskClient, session: Session) -> None:
    subscribe(client, "amina@example.org")
    token = services.confirm_token(subscriber(session, "amina@example.org"))
    page = client.get(f"/email/confirm/{token}")
    assert page.status_code == 200
    assert subscriber(session, "amina@example.org").status == "pending"  # a GET changes nothing
    post = {"csrf_token": csrf_token(client, f"/email/confirm/{token}")}
    assert client.post(f"/email/confirm/{token}", data=post).status_code == 200
    assert subscriber(session, "amina@example.org").status == "active"
    replay = client.post(f"/email/confirm/{token}", data=post)
    assert replay.status_code == 409 and "already confirmed" in replay.get_data(as_text=True)
    tampered = client.post(f"/email/confirm/{token[:-3]}abc", data=post)
    assert tampered.status_code == 400 and "not valid" in tampered.get_data(as_text=True)


def test_preferences_change_by_token(client: FlaskClient, session: Session) -> None:
    subscribe(client, "amina@example.org", regions=["africa"])
    amina = subscriber(session, "amina@example.org")
    token = services.manage_token(amina)
    page = client.get(f"/email/manage/{token}").get_data(as_text=True)
    assert '<option selected value="africa">' in page and "Africa/Nairobi" in page
    data = {
        "regions": ["asia"],
        "wants_digests": "y",
        "timezone": "Asia/Jakarta",
        "language": "fr",
        "csrf_token": csrf_token(client, f"/email/manage/{token}"),
    }
    response = client.post(f"/email/manage/{token}", data=data)
    assert response.status_code == 200
    amina = subscriber(session, "amina@example.org")
    assert [r.slug for r in amina.regions] == ["asia"] and not amina.wants_reminders
    assert (amina.timezone, amina.language) == ("Asia/Jakarta", "fr")
    assert client.get(f"/email/manage/{token}x").status_code == 400


def test_one_click_unsubscribe_needs_no_cookie_or_csrf(
    client: FlaskClient, session: Session
) -> None:
    subscribe(client, "amina@example.org")
    amina = subscriber(session, "amina@example.org")
    services.confirm(session, services.confirm_token(amina))
    session.commit()
    token = services.unsubscribe_token(amina)
    client.delete_cookie("session")
    assert client.get(f"/u/{token}").status_code == 200
    assert subscriber(session, "amina@example.org").status == "active"
    response = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert subscriber(session, "amina@example.org").status == "unsubscribed"
    assert client.post(f"/u/{token}x").status_code == 400
    assert session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 1


def test_the_outbox_page_is_for_admins(
    client: FlaskClient, session: Session, auth: Any, make_user: Any
) -> None:
    subscribe(client, "amina@example.org")
    assert client.get("/admin/outbox").status_code == 302  # to the sign-in page
    make_user(email="editor@example.org", role="editor")
    auth.login("editor@example.org")
    assert client.get("/admin/outbox").status_code == 403
    auth.logout()
    make_user(email="admin@example.org", role="admin")
    auth.login("admin@example.org")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "amina@example.org" in page and "confirmation" in page
    assert "No scheduler has run" in page
    failed = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "amina@example.org" not in failed
