"""The SMTP server down: deliveries wait (retried with backoff, never failed for it) and go out,
each once, when the server returns.

The scheduler's drain job (`app.scheduler.jobs.drain_outbox`, what `flask scheduler run` runs
every few seconds) runs here in-process on a clock the test moves forward, as the scheduler
would run it minute after minute, against a real SMTP server on loopback (aiosmtpd) that is not
there at first, is started late on the configured port, stopped, and started again on the same
port. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy.orm import Session

from app.db import utcnow
from app.mail import outbox, services
from app.mail.models import Delivery
from app.scheduler.jobs import drain_outbox

from ..mail.conftest import Sink, free_port


@dataclasses.dataclass
class Clock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, minutes: float) -> dt.datetime:
        self.now += dt.timedelta(minutes=minutes)
        return self.now


class Server:
    """An SMTP server on a fixed loopback port, started and stopped at will."""

    def __init__(self, sink: Sink, port: int) -> None:
        self.sink, self.port = sink, port
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The outbox's clock: claims, backoffs and sent times follow it."""
    clock = Clock(utcnow())
    monkeypatch.setattr(outbox, "utcnow", clock)
    return clock


@pytest.fixture
def server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The app's SMTP server (MAIL_SERVER, MAIL_PORT), not started yet."""
    server = Server(Sink(), free_port())
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
    yield server
    server.stop()


def drain(app: Flask, session: Session, clock: Clock) -> outbox.Report:
    with app.app_context():
        report = drain_outbox(session, clock.now)
    assert isinstance(report, outbox.Report)
    return report


def rows(session: Session) -> list[Delivery]:
    session.expire_all()
    return list(session.scalars(sa.select(Delivery).order_by(Delivery.id)))


def subscribe(app: Flask, session: Session, clock: Clock, *addresses: str) -> None:
    with app.app_context():
        for address in addresses:
            services.subscribe(session, address, services.Preferences(), now=clock.now)
        session.commit()


def test_mail_waits_for_a_server_that_is_down_and_goes_out_once_it_is_back(
    app: Flask, session: Session, clock: Clock, server: Server
) -> None:
    first = ("amina@example.org", "kofi@example.org", "rina@example.org")
    subscribe(app, session, clock, *first)

    # Not started yet: every message is put back for later, none given up.
    assert drain(app, session, clock).retried == 3
    waiting = rows(session)
    assert {(d.status, d.attempts) for d in waiting} == {("queued", 1)}
    assert all(d.next_attempt_at > clock.now and d.last_error for d in waiting)
    # Before the backoff has run out, nothing is tried (no attempt is spent).
    clock.advance(minutes=0.5)
    assert drain(app, session, clock) == outbox.Report()
    clock.advance(minutes=5)
    assert drain(app, session, clock).retried == 3
    assert {(d.status, d.attempts) for d in rows(session)} == {("queued", 2)}
    assert server.sink.received == []

    server.start()  # late
    clock.advance(minutes=15)
    assert drain(app, session, clock).sent == 3
    assert sorted(r for item in server.sink.received for r in item.recipients) == sorted(first)

    server.stop()
    second = ("lucia@example.org", "moussa@example.org")
    subscribe(app, session, clock, *second)
    assert drain(app, session, clock).retried == 2
    server.start()  # again, on the same port
    clock.advance(minutes=0.5)
    assert drain(app, session, clock) == outbox.Report()  # still waiting out its backoff
    clock.advance(minutes=5)
    assert drain(app, session, clock).sent == 2

    received = sorted(r for item in server.sink.received for r in item.recipients)
    assert received == sorted(first + second), "each address exactly once"
    assert {d.status for d in rows(session)} == {"sent"}
