"""`flask feeds publish DIR` and publishing after each change: the files hold the bytes the app
serves at the same URLs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.calls import services as calls
from app.feeds.publish import write_atomically

from .conftest import Scenario, build_scenario


@pytest.fixture
def scenario(session: Session) -> Scenario:
    built = build_scenario(session, dt.datetime.now(dt.UTC).replace(microsecond=0))
    session.commit()
    return built


def published(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_publish_writes_what_the_app_serves(
    runner: Any, client: FlaskClient, session: Session, scenario: Scenario, tmp_path: Path
) -> None:
    calls.create_series(
        session,
        calls.SeriesInput(
            title="Andes caucus",
            timezone="America/Lima",
            start_time="08:00",
            rrule="FREQ=WEEKLY;BYDAY=WE",
            first_date=scenario.now.date(),
            region="peru",
        ),
    )
    session.commit()
    result = runner.invoke(args=["feeds", "publish", str(tmp_path)])
    assert result.exit_code == 0, result.output
    files = published(tmp_path)
    assert f"series/{scenario.slug}.ics" in files
    for name in ("calendar.ics", "notes.atom", "regions/africa.atom", "regions/peru.atom"):
        assert name in files
    # Calendars of a region with calls of its own and of the regions above it; the others
    # hold only coalition-wide series and are left to the app.
    for slug in ("peru", "south-america", "latin-america", "americas", "global"):
        assert f"regions/{slug}.ics" in files, slug
    assert "regions/africa.ics" not in files
    assert not [name for name in files if name.endswith(".tmp")]
    for name, data in files.items():
        response = client.get(f"/{name}")
        assert response.status_code == 200, name
        assert response.data == data, name
    again = runner.invoke(args=["feeds", "publish", str(tmp_path)])
    assert again.output.startswith("0 written, ")  # unchanged files are left alone (mtime, ETag)


def test_change_republishes(
    app: Flask,
    session: Session,
    client: FlaskClient,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "FEEDS_PUBLISH_DIR", str(tmp_path))
    extra = calls.get_call(session, scenario.extra_id)
    assert extra is not None
    calls.edit_call(session, extra, title="Budget briefing (moved room)")
    session.flush()
    assert not (tmp_path / "calendar.ics").exists()  # nothing before the commit
    session.commit()
    calendar = (tmp_path / "calendar.ics").read_bytes()
    assert b"Budget briefing (moved room)" in calendar
    assert calendar == client.get("/calendar.ics").data
    assert (tmp_path / f"series/{scenario.slug}.ics").exists()

    series = calls.find_series(session, scenario.slug)
    assert series is not None
    series.is_public = False
    session.commit()
    assert not (tmp_path / f"series/{scenario.slug}.ics").exists()  # a private series vanishes
    assert f"series-{series.id}@".encode() not in (tmp_path / "calendar.ics").read_bytes()


def test_rolled_back_change_publishes_nothing(
    app: Flask,
    session: Session,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "FEEDS_PUBLISH_DIR", str(tmp_path))
    extra = calls.get_call(session, scenario.extra_id)
    assert extra is not None
    calls.edit_call(session, extra, title="Never committed")
    session.flush()
    session.rollback()
    assert list(tmp_path.iterdir()) == []


def test_write_atomically(tmp_path: Path) -> None:
    path = tmp_path / "regions" / "x.ics"
    assert write_atomically(path, b"one")
    assert not write_atomically(path, b"one")
    assert write_atomically(path, b"two") and path.read_bytes() == b"two"
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["x.ics"]
