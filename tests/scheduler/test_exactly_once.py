"""Exactly once, for real: two `flask scheduler run` processes on PostgreSQL drain 2,000
deliveries into an SMTP server; the leader is killed with SIGKILL in the middle of a batch and
started again. Every subscriber receives their message exactly once, and none is lost.

The moment of the kill is chosen, not left to chance: the server holds message 600 until the
sender's connection drops, and the test kills the leading process then. A message counts as
accepted when the server's reply reaches the sender, so message 600, whose sender never heard
back, is not kept, as a server that lost its client mid-reply would not keep it. (What no SMTP
client can rule out is a sender killed after the server accepted a message and before it
recorded that: docs/RELIABILITY.md.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app.db import db, utcnow
from app.mail.models import Delivery, Subscriber
from app.scheduler.models import SchedulerHeartbeat
from app.testing import temporary_postgres_database

from ..conftest import IN_CI, TEST_DATABASE_URL, dispose, make_app, migrate
from ..mail.conftest import free_port

SUBSCRIBERS = 2000
PAUSE_AT = 600
ROOT = Path(__file__).resolve().parents[2]


class HoldingSink:
    """Records accepted mail; holds message PAUSE_AT until its client has gone."""

    def __init__(self) -> None:
        self.recipients: Counter[str] = Counter()
        self.held = threading.Event()
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        if self.count == PAUSE_AT:
            self.held.set()
            deadline = time.monotonic() + 30
            while not server.transport.is_closing() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return "451 4.3.0 Client gone before the reply"
        for recipient in envelope.rcpt_tos:
            self.recipients[recipient] += 1
        return "250 Message accepted"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not TEST_DATABASE_URL:
        if IN_CI:
            pytest.fail("CI=true: the exactly-once test needs PostgreSQL")
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    with temporary_postgres_database(TEST_DATABASE_URL) as url:
        app = make_app(url)
        migrate(app)
        with app.app_context():
            now = utcnow()
            db.session.execute(
                sa.insert(Subscriber),
                [
                    {"email": f"member{n}@example.org", "status": "pending", "created_at": now}
                    for n in range(SUBSCRIBERS)
                ],
            )
            ids = db.session.scalars(sa.select(Subscriber.id)).all()
            db.session.execute(
                sa.insert(Delivery),
                [{"kind": "confirmation", "subject": "request:1", "subscriber_id": i} for i in ids],
            )
            db.session.commit()
        dispose(app)
        yield url


def start_scheduler(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": url,
        "FLASK_APP": "app",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(port),
        "MAIL_BATCH_SIZE": "50",
        "MAIL_CLAIM_LEASE_SECONDS": "3",
        "SCHEDULER_OUTBOX_SECONDS": "0.3",
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "scheduler", "run"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def leader_pid(url: str) -> int | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            process = connection.scalar(
                sa.select(SchedulerHeartbeat.process).where(SchedulerHeartbeat.role == "leader")
            )
    finally:
        engine.dispose()
    return int(process.rsplit(":", 1)[1]) if process else None


def test_two_schedulers_and_a_killed_sender_send_each_message_once(
    postgres_url: str, tmp_path: Path
) -> None:
    sink = HoldingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    log = tmp_path / "schedulers.log"
    processes = [start_scheduler(postgres_url, port, log) for _ in range(2)]
    try:
        assert sink.held.wait(90), f"no mail reached the server:\n{log.read_text()[-3000:]}"
        pid = leader_pid(postgres_url)
        assert pid in [p.pid for p in processes], "the leader is one of the two processes"
        os.kill(pid, signal.SIGKILL)
        killed = next(p for p in processes if p.pid == pid)
        killed.wait(10)
        processes.append(start_scheduler(postgres_url, port, log))  # started again
        deadline = time.monotonic() + 120
        while len(sink.recipients) < SUBSCRIBERS and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # anything sent twice would arrive now
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        controller.stop()
    assert len(sink.recipients) == SUBSCRIBERS, log.read_text()[-3000:]
    assert max(sink.recipients.values()) == 1, [a for a, n in sink.recipients.items() if n > 1]
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            statuses = dict(
                connection.execute(
                    sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)
                ).all()
            )
    finally:
        engine.dispose()
    assert statuses == {"sent": SUBSCRIBERS}
