"""The scheduler process: `flask scheduler run`. Never started inside web workers.

APScheduler 3 runs the jobs in this process from its memory job store (several processes
sharing one job store would run jobs several times); what is due lives in our tables. Every
process beats in `scheduler_heartbeats`; only the leader (see leadership.py) runs jobs, and a
standby that finds the lock free takes over at its next tick.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import time
from typing import Any

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.db import db, utcnow

from .jobs import Job, jobs
from .leadership import Leadership
from .models import SchedulerHeartbeat

log = logging.getLogger(__name__)


def job_fields(job: Job, started: float, result: str) -> dict[str, object]:
    """A job run's fields for structured logs (app/logs.py)."""
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return {"job": job.name, "duration_ms": duration_ms, "result": result}


def did_something(result: object) -> bool:
    """Whether a job's result counts anything: a number, or a dataclass of numbers."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return any(value for value in dataclasses.asdict(result).values())
    return bool(result)


class Runner:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.process = f"{socket.gethostname()}:{os.getpid()}"[:80]
        with app.app_context():
            self.leadership = Leadership(db.engine)
        self.jobs = jobs(app.config["SCHEDULER_OUTBOX_SECONDS"])

    def run_job(self, job: Job) -> None:
        if not self.leadership.try_lead():
            return
        with self.app.app_context():
            session = db.session
            error = ""
            started = time.perf_counter()
            try:
                result = job.run(session, utcnow())
                session.commit()
            except Exception as exc:  # a job's failure must not stop the scheduler
                session.rollback()
                log.exception(
                    "job %s failed", job.name, extra={"fields": job_fields(job, started, "failed")}
                )
                error = f"{job.name}: {exc}"[:500]
            else:
                # Runs that did nothing (most, every few seconds) are logged at DEBUG.
                level = logging.INFO if did_something(result) else logging.DEBUG
                fields = job_fields(job, started, "ok") | {"detail": str(result)[:200]}
                log.log(level, "job %s: %s", job.name, result, extra={"fields": fields})
            self.beat(last_job=job.name, last_error=error)

    def beat(self, last_job: str | None = None, last_error: str | None = None) -> None:
        """Record that this process is alive, and whether it leads."""
        with self.app.app_context():
            session = db.session
            row = session.get(SchedulerHeartbeat, self.process)
            if row is None:
                row = SchedulerHeartbeat(process=self.process, role="standby")
                session.add(row)
            row.role = "leader" if self.leadership.try_lead() else "standby"
            row.beat_at = utcnow()
            if last_job is not None:
                row.last_job = last_job
            if last_error is not None:
                row.last_error = last_error
            session.commit()

    def run_once(self) -> bool:
        """Run every job once if this process can lead (for cron and tests); True if it did."""
        if not self.leadership.try_lead():
            self.beat()
            return False
        for job in self.jobs:
            self.run_job(job)
        return True

    def run_forever(self) -> None:
        # One thread: the jobs run one after another, never two transactions of this process
        # at once (on SQLite two would lock each other out).
        scheduler = BlockingScheduler(
            timezone="UTC",
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        for job in self.jobs:
            scheduler.add_job(
                self.run_job,
                "interval",
                args=[job],
                seconds=job.seconds,
                id=job.name,
                misfire_grace_time=job.grace,
                next_run_time=utcnow(),
            )
        scheduler.add_job(self.beat, "interval", seconds=10, id="heartbeat", next_run_time=utcnow())

        def stop(signum: int, frame: Any) -> None:
            if scheduler.running:  # a second signal (Ctrl+C and a TERM) changes nothing
                scheduler.shutdown(wait=True)  # let a running job finish its transaction

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            scheduler.start()
        finally:
            self.leadership.resign()
            with self.app.app_context():
                db.session.execute(
                    sa.delete(SchedulerHeartbeat).where(SchedulerHeartbeat.process == self.process)
                )
                db.session.commit()
