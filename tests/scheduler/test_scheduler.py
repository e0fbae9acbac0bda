"""The scheduler: one leader among several processes, jobs run by the leader, a heartbeat."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.db import db
from app.mail import services
from app.mail.models import Delivery
from app.scheduler.leadership import Leadership
from app.scheduler.models import SchedulerHeartbeat


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
    app: Flask, runner: Any, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", str(tmp_path))
    services.subscribe(session, "amina@example.org", services.Preferences())
    session.commit()
    result = runner.invoke(args=["scheduler", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "Ran every job once." in result.output
    assert len(list(tmp_path.glob("*.eml"))) == 1
    session.expire_all()
    assert session.scalar(sa.select(Delivery.status)) == "sent"
    (beat,) = session.scalars(sa.select(SchedulerHeartbeat))
    assert beat.role == "leader" and beat.last_job == "drain-outbox"


def test_a_standby_runs_nothing(
    app: Flask, runner: Any, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", str(tmp_path))
    services.subscribe(session, "amina@example.org", services.Preferences())
    session.commit()
    with app.app_context():
        leader = Leadership(db.engine)
    assert leader.try_lead()
    try:
        result = runner.invoke(args=["scheduler", "run", "--once"])
    finally:
        leader.resign()
    assert "Another scheduler leads" in result.output
    assert list(tmp_path.glob("*.eml")) == []
    session.expire_all()
    assert session.scalar(sa.select(Delivery.status)) == "queued"
