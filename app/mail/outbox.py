"""The outbox: deliveries enqueued once, claimed atomically, sent over one connection, retried.

Enqueueing inserts a row per (kind, subject, subscriber) and ignores rows that exist, so a job
may enqueue the same reminder any number of times. A sender claims due rows in one statement
(`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite an `UPDATE ... RETURNING`, which the single
writer makes atomic), so two senders never hold the same row; it commits the claim, renders the
messages (once per kind and subject, each kind's renderer sharing work between subscribers), and
marks each row sent and commits as soon as the server accepts it. A 4xx reply or a lost
connection puts the row back with exponential backoff and jitter; a 5xx refusal, or running out
of attempts, marks it failed. A row claimed by a sender that died (still `sending` after
LEASE) is claimed again: only a message accepted by the server in the instant before its sender
died, before the commit, can then go out twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from app.db import utcnow

from . import message
from .models import Delivery, DeliveryStatus, Subscriber
from .transport import Connection, PermanentError, TransientError, Transport

log = logging.getLogger(__name__)

BACKOFF_SECONDS = 60  # 1, 2, 4, 8... minutes, each with up to a quarter of jitter
MAX_BACKOFF_SECONDS = 3600  # then every hour
# A delivery that could not go out is given up this long after it was queued (a mail server
# down over a weekend still gets its mail), or after this many attempts, whichever comes first.
GIVE_UP_AFTER = dt.timedelta(days=3)
MAX_ATTEMPTS = 100
LEASE = dt.timedelta(minutes=15)


@dataclasses.dataclass(frozen=True)
class Sending:
    """What every message needs besides its content."""

    name: str  # the coalition's name, as mail calls it
    sender: str  # From
    list_id: str  # List-Id: "Coalition calls <calls.example.org>"
    domain: str  # for Message-IDs
    base_url: str  # for links in the messages


# kind -> render(session, subject, subscribers, sending) -> {subscriber id: Mail}; a subscriber
# left out gets no message (the subject is gone, or nothing in it is for them).
Renderer = Callable[[Session, str, Sequence[Subscriber], Sending], dict[int, message.Mail]]
RENDERERS: dict[str, Renderer] = {}


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    def register(function: Renderer) -> Renderer:
        RENDERERS[kind] = function
        return function

    return register


def enqueue(
    session: Session,
    kind: str,
    subject: str,
    subscriber_ids: Iterable[int],
    at: dt.datetime | None = None,
) -> int:
    """Queue a delivery for each subscriber that has none of this kind and subject yet; the
    number newly queued."""
    rows = [
        {
            "kind": kind,
            "subject": subject,
            "subscriber_id": subscriber_id,
            "status": DeliveryStatus.QUEUED.value,
            "attempts": 0,
            "next_attempt_at": at or utcnow(),
            "claimed_by": "",
            "last_error": "",
            "message_id": "",
            "created_at": utcnow(),
        }
        for subscriber_id in dict.fromkeys(subscriber_ids)
    ]
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Delivery).on_conflict_do_nothing(
        index_elements=["kind", "subject", "subscriber_id"]
    )
    result = session.execute(statement.returning(Delivery.id), rows)
    return len(result.all())


def claim(
    session: Session,
    worker: str,
    limit: int,
    now: dt.datetime | None = None,
    lease: dt.timedelta = LEASE,
) -> list[int]:
    """Take up to `limit` due deliveries for `worker` and commit: no other sender gets them."""
    now = now or utcnow()
    table = Delivery.__table__
    due = sa.or_(
        sa.and_(table.c.status == DeliveryStatus.QUEUED, table.c.next_attempt_at <= now),
        sa.and_(table.c.status == DeliveryStatus.SENDING, table.c.claimed_at < now - lease),
    )
    candidates = sa.select(table.c.id).where(due).order_by(table.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        sa.update(table)
        .where(table.c.id.in_(candidates.scalar_subquery()))
        .values(
            status=DeliveryStatus.SENDING.value,
            claimed_at=now,
            claimed_by=worker[:80],
            attempts=table.c.attempts + 1,
        )
        .returning(table.c.id)
    )
    ids = sorted(session.execute(statement).scalars())
    session.commit()
    return ids


def backoff(attempts: int) -> dt.timedelta:
    seconds = min(BACKOFF_SECONDS * 2 ** min(attempts - 1, 30), MAX_BACKOFF_SECONDS)
    return dt.timedelta(seconds=seconds * (1 + random.random() / 4))


@dataclasses.dataclass
class Report:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0  # nothing to send: the subject is gone or holds nothing for them

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclasses.dataclass
class Outgoing:
    """One claimed delivery, ready to send: plain values, as every commit expires ORM objects."""

    delivery_id: int
    attempts: int
    queued_at: dt.datetime
    recipient: str
    mail: message.Mail | None  # None: nothing to send


def send_due(
    session: Session,
    transport: Transport,
    sending: Sending,
    worker: str,
    limit: int = 200,
    lease: dt.timedelta = LEASE,
) -> Report:
    """Claim a batch of due deliveries and send them over one connection; commits as it goes."""
    ids = claim(session, worker, limit, lease=lease)
    report = Report()
    if not ids:
        return report
    outgoing = prepare(session, ids, sending)
    done = 0
    # Each outcome is committed at once; expiring every loaded object at each of those commits
    # would cost more than sending. They are expired once, at the end.
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        with transport.connect() as connection:
            for item in outgoing:
                if item.mail is None:
                    _set(session, item.delivery_id, DeliveryStatus.FAILED, "nothing to send")
                    report.skipped += 1
                else:
                    report.count(_send_one(session, connection, item, sending))
                done += 1
    except TransientError as exc:  # the server could not be reached: the rest waits
        for item in outgoing[done:]:
            report.count(_retry(session, item, str(exc)))
    finally:
        session.expire_on_commit = expire_on_commit
        session.expire_all()
    return report


def prepare(session: Session, ids: list[int], sending: Sending) -> list[Outgoing]:
    """Render the claimed deliveries, each kind and subject once for all its subscribers."""
    deliveries = session.scalars(
        sa.select(Delivery)
        .where(Delivery.id.in_(ids))
        .options(selectinload(Delivery.subscriber).selectinload(Subscriber.regions))
        .order_by(Delivery.id)
    ).all()
    groups: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        groups[delivery.kind, delivery.subject].append(delivery)
    outgoing = []
    for (kind, subject), group in groups.items():
        mails = _render(session, kind, subject, group, sending)
        for delivery in group:
            mail = mails.get(delivery.subscriber_id) if _deliverable(delivery) else None
            outgoing.append(
                Outgoing(
                    delivery.id,
                    delivery.attempts,
                    delivery.created_at,
                    delivery.subscriber.email,
                    mail,
                )
            )
    return outgoing


def _deliverable(delivery: Delivery) -> bool:
    """Confirmations go to pending addresses; everything else only to active subscribers."""
    if delivery.kind == "confirmation":
        return delivery.subscriber.status != "unsubscribed"
    return delivery.subscriber.is_active


def _render(
    session: Session, kind: str, subject: str, group: list[Delivery], sending: Sending
) -> dict[int, message.Mail]:
    render = RENDERERS.get(kind)
    if render is None:
        log.error("no renderer for deliveries of kind %r", kind)
        return {}
    return render(session, subject, [delivery.subscriber for delivery in group], sending)


def _send_one(session: Session, connection: Connection, item: Outgoing, sending: Sending) -> str:
    """Send one message; "sent", "failed" or "retried", committed."""
    assert item.mail is not None
    try:
        message_id, data = message.build(
            item.mail,
            sending.sender,
            item.recipient,
            list_id=sending.list_id,
            domain=sending.domain,
        )
    except ValueError as exc:  # an address or header that cannot be sent: never will be
        _set(session, item.delivery_id, DeliveryStatus.FAILED, str(exc))
        return "failed"
    try:
        connection.send(sending.sender, item.recipient, message_id, data)
    except PermanentError as exc:
        _set(session, item.delivery_id, DeliveryStatus.FAILED, str(exc))
        return "failed"
    except TransientError as exc:
        return _retry(session, item, str(exc))
    _set(session, item.delivery_id, DeliveryStatus.SENT, "", message_id=message_id)
    return "sent"


def _set(
    session: Session, delivery_id: int, status: DeliveryStatus, error: str, **values: object
) -> None:
    """Record a delivery's outcome and commit it at once (a Core statement: this runs for every
    message)."""
    if status == DeliveryStatus.SENT:
        values["sent_at"] = utcnow()
    table = Delivery.__table__
    statement = table.update().where(table.c.id == sa.bindparam("delivery_id"))
    session.connection().execute(
        statement.values(status=status.value, last_error=error[:500], **values),
        {"delivery_id": delivery_id},
    )
    session.commit()


def _retry(session: Session, item: Outgoing, error: str) -> str:
    """Put the delivery back with a backoff, or fail it once it is GIVE_UP_AFTER old (or
    after MAX_ATTEMPTS); the outcome."""
    if item.attempts >= MAX_ATTEMPTS or utcnow() - item.queued_at >= GIVE_UP_AFTER:
        message_ = f"gave up after {item.attempts} attempts: {error}"
        _set(session, item.delivery_id, DeliveryStatus.FAILED, message_)
        return "failed"
    next_attempt_at = utcnow() + backoff(item.attempts)
    _set(session, item.delivery_id, DeliveryStatus.QUEUED, error, next_attempt_at=next_attempt_at)
    return "retried"
