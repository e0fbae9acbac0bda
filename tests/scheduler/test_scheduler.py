"""The scheduler: one leader among several processes, jobs run by the leader, a heartbeat."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.db import db
from app.mail import services
from app.mail.models import Delivery
from app.scheduler.leadership import Leadership
from app.scheduler.models import SchedulerHeartbeat

from ..conftest import dispose, fresh_database, make_app, migrate


def test_one_leader_at_a_time(app: Flask) -> None:
    with app.app_context():
        first, second = Leadership(db.engine), Leadership(db.engine)
    try:
        assert first.try_lead() and first.try_lead()
        assert not second.try_lead()
        first.resign()
        assert second.try_lead() and not first.try_lead()
    finally:
        first.resign()
        second.resign()


def test_run_once_sends_what_is_due_and_beats(
    app: Flask, runner: Any, session: Session, queued_confirmation: Path
) -> None:
    result = runner.invoke(args=["scheduler", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "Ran every job once." in result.output
    assert len(list(queued_confirmation.glob("*.eml"))) == 1
    session.expire_all()
    assert session.scalar(sa.select(Delivery.status)) == "sent"
    (beat,) = session.scalars(sa.select(SchedulerHeartbeat))
    assert beat.role == "leader" and beat.last_job == "drain-outbox"


def test_a_standby_runs_nothing(
    app: Flask, runner: Any, session: Session, queued_confirmation: Path
) -> None:
    with app.app_context():
        leader = Leadership(db.engine)
    assert leader.try_lead()
    try:
        result = runner.invoke(args=["scheduler", "run", "--once"])
    finally:
        leader.resign()
    assert "Another scheduler leads" in result.output
    assert list(queued_confirmation.glob("*.eml")) == []
    session.expire_all()
    assert session.scalar(sa.select(Delivery.status)) == "queued"


def test_the_process_sends_and_stops_cleanly(backend: str, tmp_path: Path) -> None:
    """`flask scheduler run` as a process: its jobs (all due at start) run without error, the
    confirmation goes out, and SIGTERM stops it and removes its heartbeat."""
    outbox_dir = tmp_path / "outbox"
    with fresh_database(backend, tmp_path) as url:
        app = make_app(url)
        migrate(app)
        with app.app_context():
            services.subscribe(db.session, "amina@example.org", services.Preferences())
            db.session.commit()
        env = os.environ | {
            "DATABASE_URL": url,
            "FLASK_APP": "app",
            "MAIL_SERVER": "",
            "MAIL_OUTBOX_DIR": str(outbox_dir),
            "SCHEDULER_OUTBOX_SECONDS": "0.2",
        }
        log = tmp_path / "scheduler.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "scheduler", "run"],
                cwd=Path(__file__).resolve().parents[2],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 60
            while not list(outbox_dir.glob("*.eml")) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)  # every job has run at least once by now
        finally:
            process.terminate()
            process.wait(20)
        text = log.read_text()
        assert len(list(outbox_dir.glob("*.eml"))) == 1, text
        assert "Traceback" not in text and "raised an exception" not in text, text
        with app.app_context():
            assert db.session.scalar(sa.select(Delivery.status)) == "sent"
            assert db.session.scalars(sa.select(SchedulerHeartbeat)).all() == []
        dispose(app)
