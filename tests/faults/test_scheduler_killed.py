"""The only scheduler, killed with SIGKILL in the middle of an outbox drain and started again,
sends every message exactly once.

The single-process variant of tests/scheduler/test_exactly_once.py (two processes, the standby
taking over), built from its helpers: 2,000 deliveries on PostgreSQL, an SMTP server on loopback
that holds message 600 until its sender's connection drops, the scheduler killed then. With no
standby, nothing is sent until the scheduler is started again; it takes the lock the dead
process's connection released, and sends the rest of the batch the dead one had claimed once the
claim's lease (3 s here) has run out.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app.mail.models import Delivery

from ..mail.conftest import free_port
from ..scheduler import test_exactly_once as exactly_once

SUBSCRIBERS = exactly_once.SUBSCRIBERS
postgres_url = exactly_once.postgres_url  # the fixture: a database with the 2,000 deliveries


def statuses(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)
            return {status: count for status, count in connection.execute(query).all()}
    finally:
        engine.dispose()


@contextlib.contextmanager
def scheduler(url: str, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`flask scheduler run`, stopped at the end if it is still running."""
    process = exactly_once.start_scheduler(url, port, log)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_only_scheduler_killed_mid_drain_and_restarted_sends_each_message_once(
    postgres_url: str, tmp_path: Path
) -> None:
    sink = exactly_once.HoldingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    log = tmp_path / "scheduler.log"
    try:
        with scheduler(postgres_url, port, log) as first:
            assert sink.held.wait(90), f"no mail reached the server:\n{log.read_text()[-3000:]}"
            assert exactly_once.leader_pid(postgres_url) == first.pid
            first.kill()
            first.wait(10)
        interrupted = statuses(postgres_url)
        # Killed mid-batch: some sent, some claimed by the dead process, the rest waiting.
        assert 0 < interrupted["sent"] < SUBSCRIBERS and interrupted["sending"] > 0
        with scheduler(postgres_url, port, log):
            deadline = time.monotonic() + 120
            while statuses(postgres_url) != {"sent": SUBSCRIBERS}:
                assert time.monotonic() < deadline, statuses(postgres_url)
                time.sleep(0.5)
    finally:
        controller.stop()
    # Every row is sent, so nothing more can go out: the server's count is final.
    assert len(sink.recipients) == SUBSCRIBERS, log.read_text()[-3000:]
    assert max(sink.recipients.values()) == 1, [a for a, n in sink.recipients.items() if n > 1]
