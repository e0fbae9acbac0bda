"""Subscriptions without an account: subscribe (double opt-in), confirm, change, unsubscribe;
and the site's mail settings (the monthly roll-up), which decide what subscribers may choose.

Subscribing answers the same way whether the address is new or known, and changes nothing a
stranger could use against its owner: a known active subscriber's choices stay as they are
(the mail they get links to their preferences); a new or pending address gets the choices and a
confirmation mail. At most one confirmation per address and hour is queued.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from app.db import utcnow
from app.taxonomy.models import Region

from . import outbox, tokens
from .models import DigestFrequency, MailSettings, Subscriber, SubscriberStatus

LANGUAGES = ("en", "es", "fr", "pt")
FREQUENCIES = tuple(frequency.value for frequency in DigestFrequency)


class MailError(ValueError):
    def __init__(self, message: str, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclasses.dataclass
class Preferences:
    regions: Sequence[str] = ()  # slugs; none = everything
    wants_reminders: bool = True
    wants_digests: bool = True
    # None: as it is (a new subscriber gets a digest per call). The monthly choice is only
    # offered while the roll-up is on; a monthly subscriber keeps it while it is off.
    digest_frequency: str | None = None
    timezone: str = "UTC"
    language: str = "en"


def normalize_email(text: str) -> str:
    """The address as stored: checked, its domain lower-cased; MailError when unusable."""
    text = (text or "").strip()
    if len(text) > 254 or any(char in text for char in "\r\n\x00"):
        raise MailError("Give one email address, such as name@example.org.", "email")
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise MailError(f"This is not an email address we can send to: {exc}", "email") from None


def _checked(session: Session, preferences: Preferences) -> tuple[list[Region], Preferences]:
    regions = []
    for slug in dict.fromkeys(s.strip().lower() for s in preferences.regions if s.strip()):
        region = session.scalar(sa.select(Region).where(Region.slug == slug))
        if region is None:
            raise MailError(f"There is no region {slug[:40]!r}.", "regions")
        regions.append(region)
    try:
        ZoneInfo(preferences.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise MailError(f"{preferences.timezone[:60]!r} is not a time zone.", "timezone") from None
    if preferences.language not in LANGUAGES:
        raise MailError(f"The language must be one of {', '.join(LANGUAGES)}.", "language")
    if not (preferences.wants_reminders or preferences.wants_digests):
        raise MailError("Choose reminders, digests or both.", "wants_reminders")
    frequency = preferences.digest_frequency
    if frequency is not None and frequency not in FREQUENCIES:
        raise MailError("Choose digests after each call or once a month.", "digest_frequency")
    if frequency == DigestFrequency.MONTHLY and not mail_settings(session).is_rollup_on:
        raise MailError("Monthly digests are not offered at the moment.", "digest_frequency")
    return regions, preferences


def _apply(subscriber: Subscriber, regions: list[Region], preferences: Preferences) -> None:
    subscriber.regions = regions
    subscriber.wants_reminders = preferences.wants_reminders
    subscriber.wants_digests = preferences.wants_digests
    if preferences.digest_frequency is not None:
        subscriber.digest_frequency = preferences.digest_frequency
    subscriber.timezone = preferences.timezone
    subscriber.language = preferences.language


def subscribe(
    session: Session, email: str, preferences: Preferences, now: dt.datetime | None = None
) -> Subscriber:
    """Record a subscription request and queue its confirmation mail."""
    now = now or utcnow()
    address = normalize_email(email)
    regions, preferences = _checked(session, preferences)
    subscriber = session.scalar(sa.select(Subscriber).where(Subscriber.email == address))
    if subscriber is None:
        subscriber = Subscriber(email=address, status=SubscriberStatus.PENDING.value)
        session.add(subscriber)
    if subscriber.status != SubscriberStatus.ACTIVE:
        _apply(subscriber, regions, preferences)
        if subscriber.status == SubscriberStatus.UNSUBSCRIBED:
            subscriber.status = SubscriberStatus.PENDING.value
            subscriber.token_version += 1
    session.flush()
    outbox.enqueue(session, "confirmation", f"request:{now:%Y%m%d%H}", [subscriber.id], at=now)
    return subscriber


def confirm_token(subscriber: Subscriber) -> str:
    return tokens.make("confirm", {"s": subscriber.id, "v": subscriber.token_version})


def manage_token(subscriber: Subscriber) -> str:
    return tokens.make("manage", {"s": subscriber.id, "e": subscriber.email})


def unsubscribe_token(subscriber: Subscriber) -> str:
    return tokens.make("unsubscribe", {"s": subscriber.id, "e": subscriber.email})


def _subscriber_from(session: Session, purpose: str, token: str) -> tuple[Subscriber, dict]:
    try:
        max_age = tokens.CONFIRM_MAX_AGE if purpose == "confirm" else None
        payload = tokens.read(purpose, token, max_age=max_age)
    except tokens.TokenError as exc:
        raise MailError(str(exc), "token") from None
    subscriber_id = payload.get("s")
    subscriber = session.get(Subscriber, subscriber_id) if isinstance(subscriber_id, int) else None
    if subscriber is None or ("e" in payload and payload["e"] != subscriber.email):
        raise MailError("This link is not valid: the subscription no longer exists.", "token", 404)
    return subscriber, payload


def confirm(session: Session, token: str, now: dt.datetime | None = None) -> Subscriber:
    """Activate the subscription the link was sent for; once."""
    subscriber, payload = _subscriber_from(session, "confirm", token)
    if subscriber.status == SubscriberStatus.ACTIVE:
        raise MailError("This subscription is already confirmed.", "token", 409)
    if payload.get("v") != subscriber.token_version:
        raise MailError("This confirmation link is no longer valid; subscribe again.", "token", 410)
    subscriber.status = SubscriberStatus.ACTIVE.value
    subscriber.confirmed_at = now or utcnow()
    subscriber.token_version += 1
    session.flush()
    return subscriber


def subscriber_for_manage(session: Session, token: str) -> Subscriber:
    return _subscriber_from(session, "manage", token)[0]


def update_preferences(session: Session, token: str, preferences: Preferences) -> Subscriber:
    subscriber = subscriber_for_manage(session, token)
    regions, preferences = _checked(session, preferences)
    _apply(subscriber, regions, preferences)
    session.flush()
    return subscriber


def subscriber_for_unsubscribe(session: Session, token: str) -> Subscriber:
    return _subscriber_from(session, "unsubscribe", token)[0]


def unsubscribe(session: Session, token: str, now: dt.datetime | None = None) -> Subscriber:
    """Stop all subscription mail to the address at once (repeating it changes nothing)."""
    subscriber = subscriber_for_unsubscribe(session, token)
    if subscriber.status != SubscriberStatus.UNSUBSCRIBED:
        subscriber.status = SubscriberStatus.UNSUBSCRIBED.value
        subscriber.unsubscribed_at = now or utcnow()
        subscriber.token_version += 1
        session.flush()
    return subscriber


# --- the site's mail settings ----------------------------------------------------------------


def mail_settings(session: Session) -> MailSettings:
    """The settings row, or the defaults (roll-up off, day 1) if it is missing."""
    return session.get(MailSettings, 1) or MailSettings(
        id=1, is_rollup_on=False, rollup_day=1, rollup_switched_on_at=None
    )


def save_mail_settings(
    session: Session, is_rollup_on: bool, rollup_day: int, now: dt.datetime | None = None
) -> MailSettings:
    """Switch the monthly roll-up on or off and set its day (1 to 28)."""
    if not 1 <= rollup_day <= 28:
        raise MailError("The roll-up's day is a day from 1 to 28.", "rollup_day")
    settings = mail_settings(session)
    now = now or utcnow()
    if is_rollup_on and not settings.is_rollup_on:
        settings.rollup_switched_on_at = now
    elif not is_rollup_on:
        settings.rollup_switched_on_at = None
    settings.is_rollup_on = is_rollup_on
    settings.rollup_day = rollup_day
    settings.updated_at = now
    session.add(settings)
    session.flush()
    return settings
