"""The outbox against a real SMTP server: enqueued once, claimed once, sent once, retried."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import utcnow
from app.mail import outbox, services
from app.mail.message import Mail
from app.mail.models import Delivery, Subscriber
from app.mail.transport import SMTPTransport

from .conftest import SENDING, Sink, free_port

LONG_URL = "https://calls.example.org/u/" + "x" * 180


@pytest.fixture
def test_kind() -> Iterator[list[str]]:
    """A kind of subscription mail whose renderer records the subjects it renders."""
    rendered: list[str] = []

    def render(
        session: Session, subject: str, subscribers: Sequence[Subscriber], sending: outbox.Sending
    ) -> dict[int, Mail]:
        rendered.append(subject)
        return {
            s.id: Mail(
                subject=f"Test {subject}",
                text=f"Hello {s.email}",
                html=f"<p>Hello {s.email}</p>",
                unsubscribe_url=LONG_URL,
            )
            for s in subscribers
        }

    outbox.RENDERERS["test"] = render
    yield rendered
    del outbox.RENDERERS["test"]


def active(session: Session, *addresses: str) -> list[Subscriber]:
    people = [Subscriber(email=address, status="active") for address in addresses]
    session.add_all(people)
    session.flush()
    return people


def deliveries(session: Session) -> list[Delivery]:
    session.expire_all()
    return list(session.scalars(sa.select(Delivery).order_by(Delivery.id)))


def test_enqueueing_twice_queues_once(session: Session) -> None:
    a, b = active(session, "a@example.org", "b@example.org")
    assert outbox.enqueue(session, "test", "call:1", [a.id, b.id, a.id]) == 2
    assert outbox.enqueue(session, "test", "call:1", [a.id, b.id]) == 0
    assert outbox.enqueue(session, "test", "call:2", [a.id]) == 1
    assert len(deliveries(session)) == 3


def test_claims_never_overlap(session: Session) -> None:
    people = active(session, *(f"p{n}@example.org" for n in range(8)))
    outbox.enqueue(session, "test", "call:1", [p.id for p in people])
    first = outbox.claim(session, "sender-1", 5)
    second = outbox.claim(session, "sender-2", 5)
    third = outbox.claim(session, "sender-3", 5)
    assert len(first) == 5 and len(second) == 3 and third == []
    assert not set(first) & set(second)


def test_a_message_arrives_whole_and_once(
    session: Session, smtp: tuple[Sink, SMTPTransport], test_kind: list[str]
) -> None:
    sink, transport = smtp
    (amina,) = active(session, "amina@example.org")
    outbox.enqueue(session, "test", "call:7", [amina.id])
    report = outbox.send_due(session, transport, SENDING, "sender-1")
    assert (report.sent, report.failed, report.retried) == (1, 0, 0)
    assert outbox.send_due(session, transport, SENDING, "sender-1").sent == 0
    (received,) = sink.received
    assert received.recipients == ["amina@example.org"]
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    for header in ("Message-ID", "Date", "List-Id", "From", "To", "Subject"):
        assert message[header], header
    # The long List-Unsubscribe arrives as written, on one line: not =?utf-8?q?...?= encoded.
    raw = received.data.decode()
    assert f"List-Unsubscribe: <{LONG_URL}>\r\n" in raw
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert "=?utf-8?" not in raw
    (delivery,) = deliveries(session)
    assert delivery.status == "sent" and delivery.message_id == message["Message-ID"]
    assert test_kind == ["call:7"]


def test_refusals_are_retried_or_failed_and_the_batch_goes_on(
    session: Session, smtp: tuple[Sink, SMTPTransport], test_kind: list[str]
) -> None:
    sink, transport = smtp
    people = active(session, "busy@example.org", "gone@example.org", "fine@example.org")
    sink.refuse = {
        "busy@example.org": "451 4.2.1 Mailbox busy, try later",
        "gone@example.org": "550 5.1.1 No such user",
    }
    outbox.enqueue(session, "test", "call:1", [p.id for p in people])
    before = utcnow()
    report = outbox.send_due(session, transport, SENDING, "sender-1")
    assert (report.sent, report.retried, report.failed) == (1, 1, 1)
    assert [r.recipients for r in sink.received] == [["fine@example.org"]]
    busy, gone, fine = deliveries(session)
    assert busy.status == "queued" and "451" in busy.last_error
    assert busy.next_attempt_at >= before + dt.timedelta(seconds=outbox.BACKOFF_SECONDS)
    assert gone.status == "failed" and "550" in gone.last_error
    assert fine.status == "sent"
    # Due again later, the busy mailbox gets its message, and nobody gets a second one.
    sink.refuse = {}
    later = busy.next_attempt_at + dt.timedelta(seconds=1)
    assert outbox.claim(session, "sender-2", 10, now=later) == [busy.id]
    session.execute(sa.update(Delivery).where(Delivery.id == busy.id).values(status="queued"))
    session.execute(
        sa.update(Delivery).where(Delivery.id == busy.id).values(next_attempt_at=before)
    )
    session.commit()
    assert outbox.send_due(session, transport, SENDING, "sender-2").sent == 1
    assert sorted(r.recipients[0] for r in sink.received) == [
        "busy@example.org",
        "fine@example.org",
    ]


def test_a_server_that_is_down_loses_nothing(
    session: Session, smtp: tuple[Sink, SMTPTransport], test_kind: list[str]
) -> None:
    sink, transport = smtp
    people = active(session, "a@example.org", "b@example.org")
    outbox.enqueue(session, "test", "call:1", [p.id for p in people])
    down = SMTPTransport("127.0.0.1", free_port(), timeout=2)
    report = outbox.send_due(session, down, SENDING, "sender-1")
    assert report.retried == 2 and report.sent == 0
    assert {d.status for d in deliveries(session)} == {"queued"}
    session.execute(sa.update(Delivery).values(next_attempt_at=utcnow()))
    session.commit()
    assert outbox.send_due(session, transport, SENDING, "sender-1").sent == 2
    assert len(sink.received) == 2


def test_a_server_down_for_a_day_still_gets_the_mail_and_one_down_for_days_does_not(
    session: Session, smtp: tuple[Sink, SMTPTransport], test_kind: list[str]
) -> None:
    sink, transport = smtp
    people = active(session, "a@example.org", "b@example.org")
    outbox.enqueue(session, "test", "call:1", [p.id for p in people])
    first, second = deliveries(session)
    day_ago, days_ago = utcnow() - dt.timedelta(hours=30), utcnow() - dt.timedelta(days=3, hours=1)
    session.execute(
        sa.update(Delivery).where(Delivery.id == first.id).values(attempts=29, created_at=day_ago)
    )
    session.execute(
        sa.update(Delivery).where(Delivery.id == second.id).values(attempts=9, created_at=days_ago)
    )
    session.commit()
    down = SMTPTransport("127.0.0.1", free_port(), timeout=2)
    before = utcnow()
    report = outbox.send_due(session, down, SENDING, "sender-1")
    assert (report.retried, report.failed) == (1, 1)
    waiting, given_up = deliveries(session)
    assert waiting.status == "queued"  # the wait stays at about an hour, however many attempts
    assert waiting.next_attempt_at <= before + dt.timedelta(hours=1.25, seconds=5)
    assert given_up.status == "failed" and given_up.last_error.startswith("gave up after 10")
    session.execute(sa.update(Delivery).values(next_attempt_at=utcnow()))
    session.commit()
    assert outbox.send_due(session, transport, SENDING, "sender-1").sent == 1
    assert [r.recipients for r in sink.received] == [["a@example.org"]]


def test_a_sender_that_died_leaves_its_claim_to_another(
    session: Session, smtp: tuple[Sink, SMTPTransport], test_kind: list[str]
) -> None:
    transport = smtp[1]
    (amina,) = active(session, "amina@example.org")
    outbox.enqueue(session, "test", "call:1", [amina.id])
    assert len(outbox.claim(session, "dead-sender", 10)) == 1  # and then it was killed
    assert outbox.send_due(session, transport, SENDING, "sender-2").sent == 0
    later = utcnow() + outbox.LEASE + dt.timedelta(seconds=1)
    assert len(outbox.claim(session, "sender-2", 10, now=later)) == 1


def test_unsubscribed_members_get_nothing(
    session: Session, smtp: tuple[Sink, SMTPTransport], test_kind: list[str]
) -> None:
    sink, transport = smtp
    (amina,) = active(session, "amina@example.org")
    outbox.enqueue(session, "test", "call:1", [amina.id])
    services.unsubscribe(session, services.unsubscribe_token(amina))
    session.commit()
    report = outbox.send_due(session, transport, SENDING, "sender-1")
    assert report.skipped == 1 and sink.received == []


def test_confirmation_mail_and_its_link(session: Session, smtp: tuple[Sink, SMTPTransport]) -> None:
    sink, transport = smtp
    subscriber = services.subscribe(session, "Rina@Example.ORG", services.Preferences())
    session.commit()
    assert subscriber.email == "Rina@example.org" and subscriber.status == "pending"
    assert outbox.send_due(session, transport, SENDING, "sender-1").sent == 1
    message = sink.received[0].message
    assert "List-Unsubscribe" not in message  # not subscription mail
    text = message.get_body(("plain",)).get_content()
    (token,) = re.findall(r"/email/confirm/(\S+)", text)
    services.confirm(session, token)
    assert subscriber.status == "active"
    with pytest.raises(services.MailError, match="already confirmed"):
        services.confirm(session, token)
