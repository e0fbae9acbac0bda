"""The example systemd units, the Procfile and the example environment file agree with the
code: `systemd-analyze verify` accepts the units (when systemd-analyze is installed, which is
optional even in CI: the units are examples), the commands are the documented ones, and every
setting in the example environment is one that Convene reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

DEPLOY = ROOT / "deploy"
UNITS = [
    *sorted((DEPLOY / "systemd").glob("convene*.service")),
    DEPLOY / "systemd" / "convene.target",
]


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    verify = shutil.which("systemd-analyze")
    if not verify:
        pytest.skip("systemd-analyze is not installed")
    venv_bin = str(Path(sys.executable).parent)
    for unit in UNITS:  # the installed paths, as on this machine
        text = unit.read_text().replace("/srv/convene/app/.venv/bin", venv_bin)
        (tmp_path / unit.name).write_text(text.replace("/srv/convene/app", str(ROOT)))
    result = subprocess.run(
        [verify, "verify", "--man=no", *(str(tmp_path / unit.name) for unit in UNITS)],
        capture_output=True,
        text=True,
    )
    complaints = [
        line
        for line in result.stderr.splitlines()
        if re.search(r"Unknown|ignoring|not executable|Failed|Invalid|rror", line)
    ]
    assert result.returncode == 0 and not complaints, result.stderr


def unit_values(name: str, key: str) -> list[str]:
    text = (DEPLOY / "systemd" / name).read_text()
    return re.findall(rf"^{key}=(.*)$", text, re.MULTILINE)


def test_the_units_run_the_documented_commands() -> None:
    (web,) = unit_values("convene-web.service", "ExecStart")
    assert web.endswith('gunicorn -c deploy/gunicorn.conf.py "app:create_app()"')
    (scheduler,) = unit_values("convene-scheduler.service", "ExecStart")
    assert scheduler.endswith("flask --app app scheduler run")
    (migrate,) = unit_values("convene-migrate.service", "ExecStart")
    assert migrate.endswith("flask --app app db upgrade")
    for name in ("convene-web.service", "convene-scheduler.service"):
        assert unit_values(name, "Requires") == ["convene-migrate.service"]
        assert unit_values(name, "WantedBy") == ["convene.target"]
    # systemd waits longer than gunicorn's graceful timeout (30 s) before killing.
    assert int(unit_values("convene-web.service", "TimeoutStopSec")[0]) > 30


def test_the_procfile_runs_the_same_processes() -> None:
    processes = dict(
        line.split(": ", 1)
        for line in (DEPLOY / "Procfile").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(processes) == {"release", "web", "scheduler"}
    assert processes["release"] == "flask --app app db upgrade"
    assert "-c deploy/gunicorn.conf.py" in processes["web"]
    assert processes["scheduler"] == "flask --app app scheduler run"


def test_every_example_setting_is_read_somewhere() -> None:
    example = (DEPLOY / "systemd" / "convene.env.example").read_text()
    names = re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE)
    readers = (ROOT / "config.py").read_text() + (DEPLOY / "gunicorn.conf.py").read_text()
    assert names
    unknown = [name for name in names if f'"{name}"' not in readers]
    assert not unknown, unknown
