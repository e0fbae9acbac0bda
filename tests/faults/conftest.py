"""What the fault tests share: the app under gunicorn in a subprocess, a visitor with cookies,
and a PostgreSQL server of the test's own that it may stop and start.

The machine's shared PostgreSQL server (TEST_DATABASE_URL) is never stopped: other tests run
against it. A test that restarts PostgreSQL runs `initdb` into a temporary directory and
`pg_ctl` on a free port, as the `postgres` user when the tests run as root (PostgreSQL refuses
to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import IN_CI
from ..http import Reply, Visitor
from ..mail.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


# --- a visitor -------------------------------------------------------------------------------


class Browser(Visitor):
    """A visitor that waits longer (a request may wait out an outage) and signs in or fails."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        super().__init__(base_url, timeout)

    def login(self, email: str, password: str) -> Reply:
        reply = super().login(email, password)
        assert reply.status == 302, reply.text[-500:]
        return reply


# --- the app under gunicorn ------------------------------------------------------------------


class Gunicorn:
    """`tests.faults.server:create()` under gunicorn on a loopback port, in a process group of
    its own; `env` adds to the environment (DATABASE_URL, FAULTS_PAUSE_FILE)."""

    def __init__(self, log: Path, env: dict[str, str], workers: int = 2, threads: int = 1) -> None:
        self.log, self.env, self.count = log, env, workers
        self.port = free_port()
        self.options = ["--workers", str(workers), "--threads", str(threads)]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}"]
        command += [*self.options, "--graceful-timeout", "5", "tests.faults.server:create()"]
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=os.environ | self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for_workers()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # workers left behind, if any
            self.process.wait()

    def workers(self) -> set[int]:
        """The pids of the master's live workers (a killed one not yet reaped is not)."""
        assert self.process is not None
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return set()
        return {int(child) for child in children if _alive(int(child))}

    def wait_for_workers(self, replacing: int = 0, timeout: float = 30) -> set[int]:
        """Wait until every worker is up (`replacing` replaced) and one answers; their pids."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log.read_text()[-3000:]}"
            workers = self.workers()
            if len(workers) == self.count and replacing not in workers:
                with contextlib.suppress(OSError):
                    if Browser(self.base_url, 5).open("/static/css/app.css").status == 200:
                        return workers
            time.sleep(0.1)
        raise AssertionError(f"gunicorn is not serving:\n{self.log.read_text()[-3000:]}")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"  # the state: zombie or dead


# --- a PostgreSQL server of the test's own ---------------------------------------------------


def _postgres_bin() -> Path | None:
    found = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    if found:  # the newest version installed
        newest = max(found, key=lambda path: [int(n) for n in re.findall(r"\d+", path)])
        return Path(newest).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class Cluster:
    """A PostgreSQL server in `directory` on `port` (loopback and a socket in `directory`)."""

    def __init__(self, bin_dir: Path, directory: Path, port: int) -> None:
        self.bin, self.directory, self.port = bin_dir, directory, port
        self.data = directory / "data"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [*self.as_postgres, str(self.bin / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"{program} {args}: {done.stdout}{done.stderr}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        settings = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", settings, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")


@pytest.fixture
def private_postgres() -> Iterator[Cluster]:
    """A running PostgreSQL server of this test's own, removed afterwards."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        if IN_CI:
            pytest.fail("CI=true: the PostgreSQL restart test needs initdb and pg_ctl")
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
    directory = Path(tempfile.mkdtemp(prefix="convene-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(directory, user.pw_uid, user.pw_gid)
    cluster = Cluster(bin_dir, directory, free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(AssertionError):
            cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
