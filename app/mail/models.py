"""Subscribers (members who get mail without an account) and the outbox of deliveries."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.taxonomy.models import Region


class SubscriberStatus(enum.StrEnum):
    PENDING = "pending"  # until the address is confirmed: no subscription mail
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


subscriber_regions = sa.Table(
    "subscriber_regions",
    Base.metadata,
    sa.Column(
        "subscriber_id", sa.ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("region_id", sa.ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True),
)


class DigestFrequency(enum.StrEnum):
    """How often a subscriber wants digests. Monthly takes effect only while the site's monthly
    roll-up is on (MailSettings); otherwise they get a digest after each call like everyone."""

    PER_CALL = "call"
    MONTHLY = "month"


class Subscriber(Base):
    """A member's address and choices: regions (none = everything), reminders, digests (after
    each call or once a month), the time zone and language mail is written in."""

    __tablename__ = "subscribers"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'active', 'unsubscribed')", name="status_known"),
        sa.CheckConstraint("digest_frequency IN ('call', 'month')", name="digest_frequency_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)  # domain lower-cased
    status: Mapped[str] = mapped_column(sa.String(20), default=SubscriberStatus.PENDING.value)
    wants_reminders: Mapped[bool] = mapped_column(default=True)
    wants_digests: Mapped[bool] = mapped_column(default=True)
    # The server default gives the subscribers of before the monthly roll-up their digest per call.
    digest_frequency: Mapped[str] = mapped_column(
        sa.String(10), default=DigestFrequency.PER_CALL.value, server_default="call"
    )
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    language: Mapped[str] = mapped_column(sa.String(16), default="en")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None]
    unsubscribed_at: Mapped[dt.datetime | None]
    # Bumped by every change of subscription: a confirmation link is good for one version.
    token_version: Mapped[int] = mapped_column(default=0)

    regions: Mapped[list[Region]] = relationship(
        secondary=subscriber_regions, order_by="Region.name"
    )

    @property
    def is_active(self) -> bool:
        return self.status == SubscriberStatus.ACTIVE

    def __repr__(self) -> str:
        return f"<Subscriber {self.id} {self.status}>"


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting, or waiting for a retry at next_attempt_at
    SENDING = "sending"  # claimed by a sender
    SENT = "sent"
    FAILED = "failed"  # refused for good, or out of attempts


class Delivery(Base):
    """One message for one subscriber: a confirmation, a reminder, a digest... Unique on (kind,
    subject, subscriber), so enqueueing twice queues once and nothing is ever sent twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("kind", "subject", "subscriber_id"),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed')", name="status_known"
        ),
        sa.Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    subject: Mapped[str] = mapped_column(sa.String(80))  # what it is about: "call:12:1440"
    subscriber_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(20), default=DeliveryStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str] = mapped_column(sa.String(80), default="")
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    message_id: Mapped[str] = mapped_column(sa.String(250), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]

    subscriber: Mapped[Subscriber] = relationship()

    def __repr__(self) -> str:
        return f"<Delivery {self.kind} {self.subject} -> {self.subscriber_id} {self.status}>"


class MailSettings(Base):
    """The site's mail settings, one row (id 1), changed by admins: whether the monthly roll-up
    goes out, and on which day of the month (1 to 28, so every month has it)."""

    __tablename__ = "mail_settings"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="one_row"),
        sa.CheckConstraint("rollup_day BETWEEN 1 AND 28", name="rollup_day_in_every_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    is_rollup_on: Mapped[bool] = mapped_column(default=False)
    rollup_day: Mapped[int] = mapped_column(default=1)
    # When the roll-up was last switched on (None while off): a month that had ended by then
    # gets no roll-up, so switching it on never sends at once a month its subscribers had
    # already received per call.
    rollup_switched_on_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        state = f"on, day {self.rollup_day}" if self.is_rollup_on else "off"
        return f"<MailSettings roll-up {state}>"
