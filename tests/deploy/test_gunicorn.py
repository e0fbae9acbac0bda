"""Production mode for real: gunicorn with deploy/gunicorn.conf.py (preloaded app, two
workers), JSON logs, request ids, sign-in throttling shared through Redis, and deploy/serve
(what `make serve` runs) with its scheduler, on each database backend."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.scheduler.models import SchedulerHeartbeat

from ..conftest import fresh_database
from ..http import Visitor
from ..mail.conftest import free_port
from .conftest import ROOT, environment, gunicorn, start, stop, wait_until_up


def test_workers_serve_and_log_one_json_object_per_line(migrated_url: str, tmp_path: Path) -> None:
    with gunicorn(migrated_url, tmp_path) as server:
        visitor = Visitor(server.url)
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(lambda _: visitor.open("/"), range(24)))
        assert {reply.status for reply in replies} == {200}
        mine = visitor.open("/notes", headers={"X-Request-ID": "monitor-42"})
        assert mine.status == 200 and mine.headers["X-Request-ID"] == "monitor-42"
        health = visitor.open("/healthz")
        assert health.status == 200 and health.json()["database"]["ok"] is True
    text = server.log_text()
    lines = [line for line in text.splitlines() if line.strip()]
    assert all(line.startswith("{") for line in lines), text[-3000:]
    entries = server.log_entries()
    booted = [e for e in entries if e["message"].startswith("Booting worker")]
    assert len(booted) == 2, text[-3000:]
    requests = [e for e in entries if e["logger"] == "app.requests"]
    assert len(requests) == 25  # 24 pages and /notes; /healthz is logged at DEBUG
    assert {e["request_id"] for e in requests if e["path"] == "/notes"} == {"monitor-42"}
    assert len({e["request_id"] for e in requests}) == 25
    assert all(e["status"] == 200 and e["remote_addr"] == "127.0.0.1" for e in requests)
    assert not [e for e in entries if e["logger"] == "gunicorn.access"]  # the app's log suffices
    assert not [e for e in entries if e["level"] in ("ERROR", "CRITICAL")], text[-3000:]


def test_throttle_counts_across_real_workers(
    migrated_url: str, tmp_path: Path, redis_prefix: str
) -> None:
    settings = {
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "RATELIMIT_KEY_PREFIX": redis_prefix,
    }
    with gunicorn(migrated_url, tmp_path, **settings) as server:
        email = "rina@example.org"

        def fail(_: int) -> int:
            return Visitor(server.url).login(email, "wrong password").status

        with ThreadPoolExecutor(5) as pool:  # at once, so that both workers take some
            assert list(pool.map(fail, range(5))) == [401] * 5
        assert fail(6) == 429
    served = Counter(
        entry["pid"]
        for entry in server.log_entries()
        if entry["logger"] == "app.requests" and entry["method"] == "POST"
    )
    assert sum(served.values()) == 6 and len(served) == 2, served


def test_serve_runs_the_web_and_a_scheduler_and_stops_on_sigterm(
    backend: str, tmp_path: Path
) -> None:
    """deploy/serve (make serve) migrates, starts both, reports "ok" (a leading scheduler
    beats), and SIGTERM stops everything: the scheduler removes its heartbeat."""
    port = free_port()
    with fresh_database(backend, tmp_path) as url:  # empty: serve migrates it
        env = environment(
            url,
            tmp_path,
            GUNICORN_BIND=f"127.0.0.1:{port}",
            VENV_BIN=str(Path(sys.executable).parent),
        )
        log = tmp_path / "serve.log"
        server = start(["deploy/serve"], env, port, log)
        process = server.process
        try:
            wait_until_up(server, seconds=90)
            visitor = Visitor(server.url)
            deadline = time.monotonic() + 30
            while (reply := visitor.open("/healthz?strict=1")).status != 200:
                assert time.monotonic() < deadline, reply.json()
                time.sleep(0.3)
            health = reply.json()
            assert health["status"] == "ok" and health["scheduler"]["processes"] == 1
        finally:
            status = stop(process, seconds=60)
        text = log.read_text()
        assert status == 0, text[-3000:]
        assert "Traceback" not in text, text[-3000:]
        with pytest.raises(ProcessLookupError):  # nothing of the group is left running
            for _ in range(50):
                os.killpg(process.pid, 0)
                time.sleep(0.1)
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.scalar(sa.select(sa.func.count(SchedulerHeartbeat.process))) == 0
        finally:
            engine.dispose()


def test_a_production_config_error_stops_gunicorn_at_once(
    migrated_url: str, tmp_path: Path
) -> None:
    """With the app preloaded, the development secret in production stops the master before
    any worker starts, with the reason in the log."""
    env = environment(migrated_url, tmp_path, CONVENE_ENV="production", SECRET_KEY="")
    env["GUNICORN_BIND"] = f"127.0.0.1:{free_port()}"
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "app:create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert re.search(r"Refusing to start in production", result.stdout + result.stderr)
    assert "Booting worker" not in result.stdout + result.stderr


def test_gunicorn_stops_gracefully(migrated_url: str, tmp_path: Path) -> None:
    with gunicorn(migrated_url, tmp_path) as server:
        assert Visitor(server.url).open("/").status == 200
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(40) == 0
