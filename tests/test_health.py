"""/healthz through HTTP: the database, the scheduler's heartbeats, the outbox, and statuses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app
from app.db import utcnow
from app.mail import status as outbox_status
from app.mail.models import Delivery, Subscriber
from app.scheduler.models import SchedulerHeartbeat

from .conftest import dispose


def beat(session: Session, seconds_ago: float, role: str = "leader", process: str = "h:1") -> None:
    session.add(
        SchedulerHeartbeat(
            process=process, role=role, beat_at=utcnow() - dt.timedelta(seconds=seconds_ago)
        )
    )
    session.commit()


def test_ok_with_a_database_and_a_recent_heartbeat(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    beat(session, 5)
    response = client.get("/healthz")
    assert response.status_code == 200
    health = response.get_json()
    assert health["status"] == "ok"
    assert health["database"]["ok"] is True
    assert 4 <= health["scheduler"]["heartbeat_age_seconds"] < 60
    assert health["scheduler"]["processes"] == 1
    assert health["outbox"]["backlog"] == 0
    assert health["problems"] == []
    assert health["version"] == app.config["VERSION"] != ""


def test_never_cached_and_no_cookie(client: FlaskClient) -> None:
    client.get("/login")  # a session exists
    response = client.get("/healthz")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"
    assert "Set-Cookie" not in response.headers


def test_no_heartbeat_is_degraded_but_200(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    health = response.get_json()
    assert health["status"] == "degraded"
    assert health["scheduler"]["heartbeat_age_seconds"] is None
    assert health["problems"] == ["no scheduler process has ever beaten"]


def test_strict_turns_degraded_into_503(client: FlaskClient, session: Session) -> None:
    assert client.get("/healthz?strict=1").status_code == 503  # no heartbeat at all
    beat(session, 600)
    response = client.get("/healthz?strict=1")
    assert response.status_code == 503
    health = response.get_json()
    assert health["status"] == "degraded"
    assert 599 <= health["scheduler"]["heartbeat_age_seconds"] < 700
    assert "600 s old" in health["problems"][0]
    assert client.get("/healthz").status_code == 200  # not strict: the web can still serve


def test_the_threshold_can_be_chosen_per_request(client: FlaskClient, session: Session) -> None:
    beat(session, 90)
    assert client.get("/healthz?strict=1").get_json()["status"] == "ok"  # default 120 s
    response = client.get("/healthz?strict=1&max_heartbeat_age=60")
    assert response.status_code == 503
    assert response.get_json()["scheduler"]["max_heartbeat_age_seconds"] == 60
    assert client.get("/healthz?strict=1&max_heartbeat_age=3600").status_code == 200


def test_the_leaders_newest_heartbeat_counts(client: FlaskClient, session: Session) -> None:
    beat(session, 900, role="leader", process="dead:1")  # killed, its row left behind
    beat(session, 3, role="standby", process="hung-leader-standby:2")
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"  # somebody beats, but no job has run for 15 minutes
    assert health["scheduler"]["heartbeat_age_seconds"] >= 900
    assert health["scheduler"]["any_heartbeat_age_seconds"] < 60
    assert health["scheduler"]["processes"] == 1

    beat(session, 2, role="leader", process="took-over:3")
    health = client.get("/healthz?strict=1").get_json()
    assert health["status"] == "ok"
    assert health["scheduler"]["heartbeat_age_seconds"] < 60
    assert health["scheduler"]["processes"] == 2


def test_only_standbys_is_degraded(client: FlaskClient, session: Session) -> None:
    beat(session, 1, role="standby")
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert health["problems"] == ["no scheduler process leads"]


def test_outbox_backlog_counts_what_is_due(client: FlaskClient, session: Session) -> None:
    subscriber = Subscriber(email="amina@example.org")
    session.add(subscriber)
    session.flush()
    now = utcnow()
    for subject, status, due in [
        ("a", "queued", now - dt.timedelta(minutes=10)),
        ("b", "queued", now - dt.timedelta(minutes=1)),
        ("c", "queued", now + dt.timedelta(minutes=5)),  # waiting for a retry
        ("d", "sent", now - dt.timedelta(hours=1)),
    ]:
        session.add(
            Delivery(
                kind="confirmation",
                subject=subject,
                subscriber_id=subscriber.id,
                status=status,
                next_attempt_at=due,
            )
        )
    session.commit()
    outbox = client.get("/healthz").get_json()["outbox"]
    assert outbox["backlog"] == 2
    assert 590 <= outbox["oldest_due_age_seconds"] < 700


@pytest.mark.parametrize(
    "query",
    ["strict=maybe", "max_heartbeat_age=0", "max_heartbeat_age=-5", "max_heartbeat_age=soon"],
)
def test_bad_options_are_a_json_400(client: FlaskClient, query: str) -> None:
    response = client.get(f"/healthz?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.get_json()["error"]["message"]


def test_a_failing_check_is_degraded_not_500(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    beat(session, 1)

    def broken(*args: Any) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(outbox_status, "backlog", broken)
    response = client.get("/healthz")
    assert response.status_code == 200
    health = response.get_json()
    assert health["status"] == "degraded"
    assert health["outbox"]["error"] == "RuntimeError"
    assert health["scheduler"]["ok"] is True  # the other checks still answered


def test_not_rate_limited(client: FlaskClient) -> None:
    assert {client.get("/healthz").status_code for _ in range(30)} == {200}


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-convene-folder/convene.sqlite3",
        "postgresql+psycopg://postgres@127.0.0.1:1/convene",  # nothing listens on port 1
    ],
    ids=["sqlite", "postgresql"],
)
def test_database_down_is_503_not_500(url: str) -> None:
    app = create_app({"DATABASE_URL": url, "PROPAGATE_EXCEPTIONS": False})
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        health = response.get_json()
        assert health["status"] == "down"
        assert health["database"] == {"ok": False, "error": "OperationalError"}
        assert health["scheduler"]["heartbeat_age_seconds"] is None
        assert health["outbox"]["backlog"] is None
        assert response.headers["Cache-Control"] == "no-store"
    finally:
        dispose(app)


def test_database_without_tables_is_degraded(tmp_path: Path) -> None:
    """Reachable but not migrated: the database answers, its tables do not."""
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    try:
        response = app.test_client().get("/healthz?strict=1")
        assert response.status_code == 503
        health = response.get_json()
        assert health["status"] == "degraded"
        assert health["database"]["ok"] is True
        assert health["scheduler"]["error"] == health["outbox"]["error"] == "OperationalError"
    finally:
        dispose(app)
