"""Real calendar clients read the feeds from the running app over HTTP.

Each client must list exactly the calls the scenario expects over the next 24 months, as UTC
instants: Mozilla ical.js (Thunderbird's parser, using the feed's own VTIMEZONEs), vdirsyncer's
http storage synced into a folder and listed by khal, and recurring-ical-events over icalendar.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from .conftest import HERE, Live

FEEDS = [
    "/calendar.ics",
    "/series/{slug}.ics",
    "/series/{old_slug}.ics",
    "/regions/west-africa.ics",
]
CANCELLED = ["hide", "show"]


def _url(live: Live, path: str, cancelled: str) -> str:
    scenario = live.scenario
    path = path.format(slug=scenario.slug, old_slug=scenario.old_slug)
    return f"{live.url}{path}?cancelled={cancelled}"


def _run(args: list[str], cwd: Path | None = None) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=cwd)
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _listed(lines: str) -> list[tuple[str, bool]]:
    items = [json.loads(line) for line in lines.splitlines() if line.strip()]
    listed = []
    for item in items:
        start = dt.datetime.fromisoformat(item["start"].replace("Z", "+00:00"))
        is_cancelled = item["status"] == "CANCELLED"
        if is_cancelled:
            assert item["summary"].startswith("Cancelled: ")
        listed.append((start.astimezone(dt.UTC).isoformat(), is_cancelled))
    return sorted(listed)


def _window(live: Live) -> tuple[str, str]:
    return live.scenario.now.isoformat(), live.scenario.until.isoformat()


@pytest.mark.parametrize("cancelled", CANCELLED)
@pytest.mark.parametrize("path", FEEDS)
def test_ical_js(live_feeds: Live, node: str, path: str, cancelled: str) -> None:
    start, end = _window(live_feeds)
    output = _run([node, "expand.mjs", _url(live_feeds, path, cancelled), start, end], HERE / "js")
    expected = live_feeds.scenario.expected(show_cancelled=cancelled == "show")
    if path == "/regions/west-africa.ics" or path == "/calendar.ics":
        assert _listed(output) == expected
    else:  # a series' feed has no extra call that is not the series'
        extra = live_feeds.scenario.extra.isoformat()
        assert _listed(output) == [item for item in expected if item[0] != extra]


@pytest.mark.parametrize("cancelled", CANCELLED)
def test_recurring_ical_events(live_feeds: Live, clients_python: str, cancelled: str) -> None:
    start, end = _window(live_feeds)
    script = str(HERE / "clients" / "expand_ric.py")
    output = _run(
        [clients_python, script, _url(live_feeds, "/calendar.ics", cancelled), start, end]
    )
    assert _listed(output) == live_feeds.scenario.expected(show_cancelled=cancelled == "show")


KHAL_FORMAT = '{{"start": "{start}", "summary": "{title}", "status": "{status}"}}'


@pytest.mark.parametrize("cancelled", CANCELLED)
def test_vdirsyncer_and_khal(
    live_feeds: Live, clients_python: str, tmp_path: Path, cancelled: str
) -> None:
    bin_dir = Path(clients_python).parent
    calendars = tmp_path / "calendars"
    (calendars / "convene").mkdir(parents=True)
    vdirsyncer_config = tmp_path / "vdirsyncer.conf"
    vdirsyncer_config.write_text(
        textwrap.dedent(f"""\
        [general]
        status_path = "{tmp_path / "status"}"

        [pair convene]
        a = "feed"
        b = "folder"
        collections = null
        conflict_resolution = "a wins"

        [storage feed]
        type = "http"
        url = "{_url(live_feeds, "/calendar.ics", cancelled)}"

        [storage folder]
        type = "filesystem"
        path = "{calendars / "convene"}"
        fileext = ".ics"
        """)
    )
    khal_config = tmp_path / "khal.conf"
    khal_config.write_text(
        textwrap.dedent(f"""\
        [calendars]
        [[convene]]
        path = {calendars / "convene"}

        [locale]
        local_timezone = UTC
        default_timezone = UTC
        timeformat = %H:%M
        dateformat = %Y-%m-%d
        longdateformat = %Y-%m-%d
        datetimeformat = %Y-%m-%dT%H:%M
        longdatetimeformat = %Y-%m-%dT%H:%M
        """)
    )
    vdirsyncer = [str(bin_dir / "vdirsyncer"), "-c", str(vdirsyncer_config)]
    _run([*vdirsyncer, "discover"])
    _run([*vdirsyncer, "sync"])
    start, end = live_feeds.scenario.now, live_feeds.scenario.until
    output = _run([
        str(bin_dir / "khal"), "-c", str(khal_config), "list", "--day-format", "",
        "--format", KHAL_FORMAT, start.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M"),
    ])  # fmt: skip
    listed = []
    for item in (json.loads(line) for line in output.splitlines() if line.strip()):
        start_at = dt.datetime.strptime(item["start"], "%Y-%m-%dT%H:%M").replace(tzinfo=dt.UTC)
        if start_at >= live_feeds.scenario.now.replace(second=0):
            status = "CANCELLED" if "CANCELLED" in item["status"].upper() else ""
            listed.append(
                {"start": start_at.isoformat(), "summary": item["summary"], "status": status}
            )
    expected = live_feeds.scenario.expected(show_cancelled=cancelled == "show")
    assert _listed("\n".join(json.dumps(item) for item in listed)) == expected
