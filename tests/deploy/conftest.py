"""What the deployment tests share: the app under gunicorn (deploy/gunicorn.conf.py) in a
subprocess, on a migrated database of the session's backend, and an HTTP client."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ..conftest import dispose, fresh_database, make_app, migrate
from ..mail.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def log_entries(self) -> list[dict[str, Any]]:
        """The JSON lines of the log (LOG_FORMAT=json)."""
        return [json.loads(line) for line in self.log_text().splitlines() if line.startswith("{")]


def wait_until_up(server: Server, path: str = "/healthz", seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server stopped:\n{server.log_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + path, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the server did not answer within {seconds} s:\n{server.log_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes], seconds: float = 30) -> int:
    """SIGTERM, then SIGKILL to the whole process group if it does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait(10)


def environment(database_url: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GUNICORN_", "LOG_", "CONVENE_", "WEB_CONCURRENCY"))
    }
    return env | {
        "DATABASE_URL": database_url,
        "FLASK_APP": "app",
        "CONVENE_ENV": "development",
        "MAIL_SERVER": "",
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "LOG_FORMAT": "json",
        "WEB_CONCURRENCY": "2",
        "PYTHONUNBUFFERED": "1",
        **settings,
    }


@contextmanager
def gunicorn(database_url: str, tmp_path: Path, **settings: str) -> Iterator[Server]:
    """gunicorn with deploy/gunicorn.conf.py on a free loopback port, stopped afterwards."""
    port = free_port()
    env = environment(database_url, tmp_path, GUNICORN_BIND=f"127.0.0.1:{port}", **settings)
    command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
    command.append("app:create_app()")
    server = start(command, env, port, tmp_path / f"gunicorn-{port}.log")
    try:
        wait_until_up(server)
        yield server
    finally:
        stop(server.process)


def start(command: list[str], env: dict[str, str], port: int, log: Path) -> Server:
    """`command` from the checkout, in a process group of its own, its output in `log`."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(f"http://127.0.0.1:{port}", process, log)


@pytest.fixture
def migrated_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database of the session's backend, migrated."""
    with fresh_database(backend, tmp_path) as url:
        app = make_app(url)
        migrate(app)
        dispose(app)
        yield url
