"""Calendar feeds: building them for 50 series with 10 years of history, and serving
/calendar.ics (200 and 304) under gunicorn against a bare route and a static server.

    .venv/bin/python bench/feeds.py [--seconds S]

1. On a migrated SQLite database with the region tree and bench/calls.py's 50 weekly series
   whose first date is 10 years ago: the time to build /calendar.ics, each of the 50 series'
   feeds, and every feed `flask feeds publish` writes, from an empty cache.
2. /calendar.ics under gunicorn against /bare returning the same bytes (bench/common.py), for a
   200 and for a 304 (If-None-Match with the feed's ETag); target ratio >= 0.9.
3. The published calendar.ics served by nginx (or, without nginx, Python's http.server), with
   the same load, for a 200 and a 304.
"""

from __future__ import annotations

import hashlib
import http.client
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from calls import SERIES_COUNT, YEARS, weekly_inputs
from common import (
    CLIENT_THREADS,
    ROUNDS,
    describe_load,
    dispose,
    free_port,
    make_app,
    measure_page,
    migrate,
    parse_arguments,
    print_banner,
    print_page,
    run_load,
    stop,
    wait_ready,
)

from app import create_app
from app.cache import page_cache
from app.calls import services
from app.calls.models import Call, Series
from app.db import db, utcnow
from app.feeds.publish import publish_app
from app.taxonomy.services import seed_regions
from config import Config

TARGET = 0.9
FEED = "/calendar.ics"


def seed(database_url: str) -> int:
    """The region tree and 50 weekly series from 10 years ago; the number of stored calls."""
    app = make_app(database_url)
    try:
        migrate(app)
        with app.app_context():
            seed_regions(db.session)
            for data in weekly_inputs(utcnow().date()):
                services.create_series(db.session, data)
            db.session.commit()
            return db.session.scalar(sa.select(sa.func.count()).select_from(Call)) or 0
    finally:
        dispose(app)


def timed(action: object) -> float:
    began = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - began


def bench_build(database_url: str, public: Path) -> None:
    """Figure 1: build times from an empty cache, in one process, with the development
    BASE_URL that the gunicorn server of figure 2 uses, so the published bytes are its bytes."""
    app = create_app({"DATABASE_URL": database_url, "BASE_URL": Config.BASE_URL})
    try:
        client = app.test_client()
        with app.app_context():
            slugs = list(db.session.scalars(sa.select(Series.slug).order_by(Series.id)))
            cache = page_cache()

        def calendar() -> None:
            assert client.get(FEED).status_code == 200

        def every_series() -> None:
            for slug in slugs:
                assert client.get(f"/series/{slug}.ics").status_code == 200

        cache.entries.clear()
        calendar_s = timed(calendar)
        size = len(client.get(FEED).data)
        cache.entries.clear()
        series_s = timed(every_series)
        cache.entries.clear()
        report = []
        publish_s = timed(lambda: report.append(publish_app(app, public)))
        again_s = timed(lambda: report.append(publish_app(app, public)))
    finally:
        dispose(app)
    files = len(report[0].written)
    print(f"  /calendar.ics ({SERIES_COUNT} series, {size:,} bytes): {calendar_s * 1000:.0f} ms")
    print(
        f"  the {len(slugs)} series feeds, one after the other: {series_s:.2f} s "
        f"({series_s / len(slugs) * 1000:.0f} ms each)"
    )
    print(f"  flask feeds publish, empty cache: {files} files written in {publish_s:.2f} s")
    print(
        f"  flask feeds publish again, nothing changed (cached): {len(report[1].written)} written "
        f"in {again_s:.2f} s"
    )


def etag_of(body: bytes) -> str:
    """The feed's strong ETag, as app/feeds/routes.py computes it."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def bench_app(database_url: str, directory: Path, seconds: float) -> tuple[bool, bytes]:
    """Figure 2: /calendar.ics against /bare, 200 then 304."""
    ok = True
    first = measure_page(database_url, directory, FEED, seconds)
    print(f"  200: {len(first.body):,} bytes; {describe_load(seconds)}")
    print_page(first, FEED, TARGET)
    revalidate = {"If-None-Match": etag_of(first.body)}
    second = measure_page(database_url, directory, FEED, seconds, revalidate, status=304)
    print("  304 (If-None-Match with the current ETag; /bare answers a bare 304):")
    print_page(second, FEED, TARGET)
    ok = first.ok and second.ok
    return ok, first.body


def start_static(public: Path, directory: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    """nginx serving `public` if it is installed, else Python's http.server."""
    log = directory / "static.log"
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if nginx:
        conf = directory / "nginx.conf"
        conf.write_text(
            f"""
worker_processes 2;
daemon off;
pid {directory}/nginx.pid;
error_log {log} warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {directory}/client_temp;
    proxy_temp_path {directory}/proxy_temp;
    fastcgi_temp_path {directory}/fastcgi_temp;
    uwsgi_temp_path {directory}/uwsgi_temp;
    scgi_temp_path {directory}/scgi_temp;
    types {{ text/calendar ics; application/atom+xml atom; }}
    charset utf-8;
    charset_types text/calendar application/atom+xml;
    server {{
        listen 127.0.0.1:{port};
        root {public};
        location / {{ add_header Cache-Control "public, max-age=300"; }}
    }}
}}
"""
        )
        command = [nginx, "-c", str(conf), "-p", str(directory)]
        name = (
            "nginx "
            + subprocess.run([nginx, "-v"], capture_output=True, text=True)
            .stderr.strip()
            .split("/")[-1]
            + ", 2 worker processes"
        )
    else:
        command = [sys.executable, "-m", "http.server", "-b", "127.0.0.1", "-d", str(public)]
        command.append(str(port))
        name = "Python http.server (one process, a thread per connection, HTTP/1.0)"
    with log.open("ab") as output:
        server = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    return server, name


def print_static(slots: list, seconds: float, label: str, checks: object) -> None:
    latencies = [latency for slot in slots for latency in slot.latencies]
    rate = len(latencies) / (seconds * len(slots))
    cpu = [slot.server_cpu for slot in slots if slot.server_cpu is not None]
    cpu_text = f"{sum(cpu) / len(latencies) * 1e6:,.0f} µs/req" if cpu and latencies else "n/a"
    failures = getattr(checks, "failures", 0)
    verdict = "all checked" if not failures else f"CHECK FAILED: {checks.first_failure}"  # type: ignore[attr-defined]
    print(f"    {label}: {rate:,.0f} requests/s, server CPU {cpu_text} ({verdict})")


def bench_static(public: Path, directory: Path, body: bytes, seconds: float) -> bool:
    """Figure 3: the published file from a static server, same load as figure 2."""
    public.chmod(0o755)
    directory.chmod(0o755)  # nginx's workers run as nobody
    for path in public.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    port = free_port()
    server, name = start_static(public, directory, port)
    ok = True
    try:
        wait_ready(port, server, directory / "static.log", timeout=15, path=FEED)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", FEED)
        response = conn.getresponse()
        static_body, etag = response.read(), response.getheader("ETag") or ""
        conn.close()
        same = "the same bytes as the app" if static_body == body else "DIFFERENT bytes"
        print(f"  {name}; {same}; ETag {etag}")
        routes = (FEED, FEED)
        slots, checks = run_load(port, routes, body, seconds, server.pid)
        print_static(slots, seconds, "200", checks)
        ok = ok and checks.failures == 0 and static_body == body
        if etag:
            headers = {"If-None-Match": etag}
            slots, checks = run_load(port, routes, b"", seconds, server.pid, headers, 304)
            print_static(slots, seconds, "304", checks)
            ok = ok and checks.failures == 0
    finally:
        stop(server)
    return ok


def main() -> int:
    args = parse_arguments(__doc__, "unused")
    print_banner("feeds")
    with tempfile.TemporaryDirectory(prefix="convene-bench-") as name:
        directory = Path(name)
        database_url = f"sqlite:///{directory / 'feeds.sqlite3'}"
        public = directory / "public"
        calls = seed(database_url)
        print(
            f"1. Building the feeds: {SERIES_COUNT} weekly series, {YEARS} years of history, "
            f"{calls:,} stored calls (SQLite)"
        )
        bench_build(database_url, public)
        print(f"2. {FEED} under gunicorn against a bare route returning the same bytes")
        ok, body = bench_app(database_url, directory, args.seconds)
        print(
            f"3. The published calendar.ics from a static server ({CLIENT_THREADS} client "
            f"threads, {ROUNDS * 2} slots x {args.seconds:g} s)"
        )
        ok = bench_static(public, directory, body, args.seconds) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
