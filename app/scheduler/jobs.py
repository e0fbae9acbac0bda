"""What the scheduler runs. Each job works out what is due from our own tables, so running it
twice, late, or after a restart does no harm."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import socket
from collections.abc import Callable

from flask import current_app
from sqlalchemy.orm import Session


@dataclasses.dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Session, dt.datetime], object]
    seconds: float  # how often
    grace: int  # seconds late a run may still start (misfire_grace_time)


def regenerate_calls(session: Session, now: dt.datetime) -> object:
    from app.calls.services import generate_all

    return generate_all(session)


def enqueue_reminders(session: Session, now: dt.datetime) -> object:
    from app.mail.reminders import enqueue_due_reminders

    return enqueue_due_reminders(session, now)


def enqueue_digests(session: Session, now: dt.datetime) -> object:
    from app.mail.digests import enqueue_recent_digests

    return enqueue_recent_digests(session, now)


def enqueue_rollup(session: Session, now: dt.datetime) -> object:
    """The monthly roll-up, once the admin switched it on and its day has come; asking every
    few minutes queues it once."""
    from app.mail.rollup import enqueue_due_rollup

    return enqueue_due_rollup(session, now)


def drain_outbox(session: Session, now: dt.datetime) -> object:
    """Send what is due, batch after batch, until a batch comes back short."""
    from app.mail import outbox
    from app.mail.cli import sending
    from app.mail.transport import transport_for

    config = current_app.config
    worker = f"{socket.gethostname()}:{os.getpid()}"
    lease = dt.timedelta(seconds=config["MAIL_CLAIM_LEASE_SECONDS"])
    batch = config["MAIL_BATCH_SIZE"]
    total = outbox.Report()
    while True:
        report = outbox.send_due(
            session, transport_for(current_app), sending(), worker, batch, lease=lease
        )
        for field in dataclasses.fields(report):
            setattr(total, field.name, getattr(total, field.name) + getattr(report, field.name))
        if report.sent + report.retried + report.failed + report.skipped < batch:
            return total


def jobs(outbox_seconds: float) -> list[Job]:
    return [
        Job("regenerate-calls", regenerate_calls, 24 * 3600, 3600),
        Job("enqueue-reminders", enqueue_reminders, 60, 50),
        Job("enqueue-digests", enqueue_digests, 60, 50),
        Job("enqueue-rollup", enqueue_rollup, 10 * 60, 5 * 60),
        Job("drain-outbox", drain_outbox, outbox_seconds, 30),
    ]
