"""/healthz: whether this deployment can serve, for monitors and load balancers.

The answer is JSON (keys documented in docs/OPERATIONS.md) with a status:

- "down" (503): the database does not answer a `SELECT 1` within HEALTHZ_DATABASE_TIMEOUT;
- "degraded" (200): the database answers, but the leading scheduler process (the one that
  runs the jobs) has not beaten for HEALTHZ_MAX_HEARTBEAT_AGE seconds (or none leads), or a
  check could not read its table;
- "ok" (200): everything answers.

A load balancer asks `/healthz`: a web worker can serve pages while the scheduler is down, so
that is no reason to take it out of rotation. A monitor that should page someone when mail stops
asks `/healthz?strict=1`, which answers 503 unless the status is "ok"; `max_heartbeat_age=N`
sets the heartbeat threshold for one request. The check never fails with a 500, sets no cookie
and is never cached; it has no rate limit (only sign-in failures are counted).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.orm import Session
from werkzeug import Response

from app.db import db, utcnow
from app.mail import status as outbox_status
from app.mail.models import Delivery, DeliveryStatus

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

MAX_THRESHOLD_SECONDS = 366 * 24 * 3600
T = TypeVar("T")


class BadArgument(ValueError):
    pass


def _seconds(later: dt.datetime, earlier: dt.datetime | None) -> float | None:
    """Seconds from `earlier` to `later`, never negative (clocks of two hosts may differ)."""
    if earlier is None:
        return None
    return round(max((later - earlier).total_seconds(), 0.0), 1)


def check_database(session: Session, timeout_seconds: float) -> dict[str, Any]:
    """`SELECT 1`, bounded by a statement timeout on PostgreSQL (connecting is bounded by the
    engine's connect and pool timeouts)."""
    started = time.perf_counter()
    try:
        if session.get_bind().dialect.name == "postgresql":
            milliseconds = str(max(int(timeout_seconds * 1000), 1))
            # For this transaction only: the request's, which ends with the request.
            session.execute(
                sa.text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": milliseconds}
            )
        session.execute(sa.text("SELECT 1"))
    except Exception as exc:  # whatever went wrong, the answer is "down", never a 500
        log.warning("healthz: the database does not answer: %s", getattr(exc, "orig", None) or exc)
        with contextlib.suppress(Exception):
            session.rollback()
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def scheduler_heartbeats(session: Session, now: dt.datetime, max_age: float) -> dict[str, Any]:
    """How long ago the leading scheduler process (the one running the jobs) last beat, and
    any process. A process killed without a chance to clean up leaves its row behind, so only
    the newest beat counts; a standby that finds the leader gone takes over within seconds."""
    beats = outbox_status.heartbeats(session)
    leader = max((beat.beat_at for beat in beats if beat.role == "leader"), default=None)
    age = _seconds(now, leader)
    return {
        "heartbeat_age_seconds": age,
        "any_heartbeat_age_seconds": _seconds(now, max((b.beat_at for b in beats), default=None)),
        "processes": sum(1 for beat in beats if (_seconds(now, beat.beat_at) or 0) <= max_age),
        "max_heartbeat_age_seconds": max_age,
        "ok": age is not None and age <= max_age,
    }


def outbox(session: Session, now: dt.datetime) -> dict[str, Any]:
    """Deliveries due and not yet sent, and how long the oldest of them has waited."""
    oldest = session.scalar(
        sa.select(sa.func.min(Delivery.next_attempt_at)).where(
            Delivery.status == DeliveryStatus.QUEUED, Delivery.next_attempt_at <= now
        )
    )
    return {
        "backlog": outbox_status.backlog(session, now),
        "oldest_due_age_seconds": _seconds(now, oldest),
    }


def _guarded(session: Session, name: str, check: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run `check` in a savepoint: a failure (say, a table missing) spoils no other check."""
    try:
        with session.begin_nested():
            return check(), None
    except Exception as exc:
        log.warning("healthz: the %s check failed: %s", name, getattr(exc, "orig", None) or exc)
        return None, type(exc).__name__


def report(
    session: Session, now: dt.datetime, max_heartbeat_age: float, timeout_seconds: float
) -> dict[str, Any]:
    """The health report: status, database, scheduler, outbox and the problems found."""
    database = check_database(session, timeout_seconds)
    scheduler: dict[str, Any] = {
        "heartbeat_age_seconds": None,
        "any_heartbeat_age_seconds": None,
        "processes": None,
        "max_heartbeat_age_seconds": max_heartbeat_age,
        "ok": False,
    }
    mail: dict[str, Any] = {"backlog": None, "oldest_due_age_seconds": None}
    problems = []
    if not database["ok"]:
        problems.append("the database does not answer")
    else:
        beats, error = _guarded(
            session, "scheduler", lambda: scheduler_heartbeats(session, now, max_heartbeat_age)
        )
        if beats is None:
            scheduler["error"] = error
            problems.append("the scheduler's heartbeats could not be read")
        else:
            scheduler = beats
            age = beats["heartbeat_age_seconds"]
            if beats["any_heartbeat_age_seconds"] is None:
                problems.append("no scheduler process has ever beaten")
            elif age is None:
                problems.append("no scheduler process leads")
            elif not beats["ok"]:
                problems.append(
                    f"the leading scheduler's newest heartbeat is {age:.0f} s old "
                    f"(more than {max_heartbeat_age:g} s)"
                )
        counts, error = _guarded(session, "outbox", lambda: outbox(session, now))
        if counts is None:
            mail["error"] = error
            problems.append("the outbox could not be read")
        else:
            mail = counts
    if not database["ok"]:
        state = "down"
    elif problems:
        state = "degraded"
    else:
        state = "ok"
    return {
        "status": state,
        "version": current_app.config.get("VERSION", "unknown"),
        "time": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "database": database,
        "scheduler": scheduler,
        "outbox": mail,
        "problems": problems,
    }


def _flag(name: str) -> bool:
    value = request.args.get(name)
    if value is None:
        return False
    if value.strip().lower() in {"", "1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise BadArgument(f"{name}: expected 1 or 0, not {value[:40]!r}.")


def _threshold(name: str, default: float) -> float:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds <= MAX_THRESHOLD_SECONDS):
        raise BadArgument(f"{name}: expected a number of seconds, not {value[:40]!r}.")
    return seconds


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def check_health() -> Response:
    """The health report: 200 while the database answers (503 with ?strict=1 unless all is
    well), 503 when it does not."""
    config = current_app.config
    try:
        strict = _flag("strict")
        max_age = _threshold("max_heartbeat_age", float(config["HEALTHZ_MAX_HEARTBEAT_AGE"]))
    except BadArgument as exc:
        response = jsonify(error={"status": 400, "message": str(exc)})
        response.status_code = 400
        return _no_store(response)
    health = report(db.session, utcnow(), max_age, float(config["HEALTHZ_DATABASE_TIMEOUT"]))
    failing = health["status"] == "down" or (strict and health["status"] != "ok")
    response = jsonify(health)
    response.status_code = 503 if failing else 200
    return _no_store(response)
