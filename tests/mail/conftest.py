"""A real SMTP server on loopback (aiosmtpd) that records what it accepts, mail settings, and
subscribers with regions."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import socket
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy.orm import Session

from app.mail import digests
from app.mail.models import Subscriber
from app.mail.outbox import Sending
from app.mail.transport import SMTPTransport
from app.taxonomy.models import Region


@dataclasses.dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class Sink:
    """Accepts mail, except for recipients it is told to refuse (with a 4xx or 5xx reply)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}  # address -> SMTP reply

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        return [item for item in self.received if address in item.recipients]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, SMTPTransport]]:
    """A running SMTP server and a transport to it. (Controller(port=0) is broken: the port is
    chosen here.)"""
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        yield sink, SMTPTransport("127.0.0.1", port, timeout=5)
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def app_context(app: Flask) -> Iterator[None]:
    """Tokens are signed with the app's secret: tests run inside its context. Digests rendered
    by an earlier test are forgotten."""
    digests.RENDERED.entries.clear()
    with app.app_context():
        yield


SENDING = Sending(
    name="Justice Coalition",
    sender="Justice Coalition <calls@example.org>",
    list_id="Justice Coalition calls <calls.example.org>",
    domain="example.org",
    base_url="https://calls.example.org",
)


@pytest.fixture
def regions(session: Session) -> dict[str, Region]:
    return {region.slug: region for region in session.scalars(sa.select(Region))}


@pytest.fixture
def make_subscriber(session: Session, regions: dict[str, Region]) -> Callable[..., Subscriber]:
    def make(email: str, *slugs: str, **fields: Any) -> Subscriber:
        fields.setdefault("status", "active")
        subscriber = Subscriber(email=email, regions=[regions[s] for s in slugs], **fields)
        session.add(subscriber)
        session.flush()
        return subscriber

    return make
