"""What the outbox holds and whether the scheduler is alive, for the admin page and monitors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from app.scheduler.models import SchedulerHeartbeat

from .models import Delivery, DeliveryStatus, DigestFrequency, Subscriber, SubscriberStatus


@dataclasses.dataclass
class OutboxCount:
    kind: str
    status: str
    count: int


def counts(session: Session) -> list[OutboxCount]:
    rows = session.execute(
        sa.select(Delivery.kind, Delivery.status, sa.func.count())
        .group_by(Delivery.kind, Delivery.status)
        .order_by(Delivery.kind, Delivery.status)
    )
    return [OutboxCount(kind, status, count) for kind, status, count in rows]


def recent(session: Session, statuses: Sequence[str] = (), limit: int = 50) -> Sequence[Delivery]:
    """The latest deliveries (of these statuses), newest first, with their subscribers."""
    query = sa.select(Delivery).options(selectinload(Delivery.subscriber))
    if statuses:
        query = query.where(Delivery.status.in_(statuses))
    return session.scalars(query.order_by(Delivery.id.desc()).limit(limit)).all()


def backlog(session: Session, now: dt.datetime) -> int:
    """Deliveries due and not yet sent."""
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(Delivery)
        .where(Delivery.status == DeliveryStatus.QUEUED, Delivery.next_attempt_at <= now)
    )


def monthly_subscribers(session: Session) -> int:
    """Active subscribers who chose a monthly roll-up of the digests."""
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(Subscriber)
        .where(
            Subscriber.status == SubscriberStatus.ACTIVE.value,
            Subscriber.wants_digests.is_(True),
            Subscriber.digest_frequency == DigestFrequency.MONTHLY.value,
        )
    )


def heartbeats(session: Session) -> Sequence[SchedulerHeartbeat]:
    return session.scalars(
        sa.select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.beat_at.desc())
    ).all()
