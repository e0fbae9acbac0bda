"""Subscribing, confirming and unsubscribing: bad input changes nothing; tokens cannot be
forged, tampered with, replayed or used for another purpose; keys can be rotated."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.mail import services
from app.mail.message import Mail, build
from app.mail.models import Delivery, Subscriber
from app.mail.services import MailError, Preferences

from .conftest import SENDING


def count(session: Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize(
    ("email", "preferences", "field"),
    [
        ("not an address", Preferences(), "email"),
        ("a@b.org\r\nBcc: everyone@example.org", Preferences(), "email"),
        ("a@b.org\nSubject: hi", Preferences(), "email"),
        ("x" * 250 + "@b.org", Preferences(), "email"),
        ("a@b.org", Preferences(regions=["atlantis"]), "regions"),
        ("a@b.org", Preferences(timezone="Mars/Olympus"), "timezone"),
        ("a@b.org", Preferences(language="xx"), "language"),
        ("a@b.org", Preferences(wants_reminders=False, wants_digests=False), "wants_reminders"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    session: Session, email: str, preferences: Preferences, field: str
) -> None:
    with pytest.raises(MailError) as error:
        services.subscribe(session, email, preferences)
    assert error.value.field == field
    assert count(session, Subscriber) == 0 and count(session, Delivery) == 0


def test_a_known_address_keeps_its_choices(session: Session) -> None:
    first = services.subscribe(session, "amina@example.org", Preferences(regions=["africa"]))
    services.confirm(session, services.confirm_token(first))
    again = services.subscribe(
        session, "amina@example.org", Preferences(regions=["asia"], wants_digests=False)
    )
    assert again is first and again.status == "active"
    assert [r.slug for r in again.regions] == ["africa"] and again.wants_digests


def test_tokens_cannot_be_tampered_with_or_used_for_another_purpose(session: Session) -> None:
    subscriber = services.subscribe(session, "amina@example.org", Preferences())
    token = services.confirm_token(subscriber)
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "x" * 600,
        "",
        token + "x",
    ):
        with pytest.raises(MailError, match="not valid"):
            services.confirm(session, bad)
    with pytest.raises(MailError, match="not valid"):
        services.unsubscribe(session, token)  # a confirmation token is not an unsubscribe one
    with pytest.raises(MailError, match="not valid"):
        services.confirm(session, services.unsubscribe_token(subscriber))
    assert subscriber.status == "pending"


def test_a_confirmation_link_does_not_outlive_an_unsubscribe(session: Session) -> None:
    subscriber = services.subscribe(session, "amina@example.org", Preferences())
    token = services.confirm_token(subscriber)
    services.confirm(session, token)
    services.unsubscribe(session, services.unsubscribe_token(subscriber))
    with pytest.raises(MailError) as error:
        services.confirm(session, token)
    assert error.value.status == 410 and subscriber.status == "unsubscribed"


def test_links_survive_a_key_rotation(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriber = services.subscribe(session, "amina@example.org", Preferences())
    token = services.unsubscribe_token(subscriber)
    manage = services.manage_token(subscriber)
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [app.config["SECRET_KEY"]])
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-secret")
    assert services.unsubscribe(session, token).status == "unsubscribed"
    assert services.subscriber_for_manage(session, manage) is subscriber
    monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [])  # the old key retired
    with pytest.raises(MailError, match="not valid"):
        services.subscriber_for_manage(session, manage)


def test_no_text_can_add_a_header() -> None:
    with pytest.raises(ValueError):
        build(
            Mail(subject="Hi\r\nBcc: everyone@example.org", text="x"),
            SENDING.sender,
            "a@example.org",
            list_id=SENDING.list_id,
            domain=SENDING.domain,
        )
