"""The example nginx site (deploy/nginx/convene.conf): `nginx -t` accepts it, and run in front
of gunicorn it serves the published feeds itself (ETag, Last-Modified, 304), hands the rest to
the app with X-Forwarded-* headers that PROXY_COUNT=1 trusts, and shares its request id.

The test changes only what must differ on a test machine (ports, certificate, folders), each
replacement checked, so that an edit of the example that breaks it fails here. nginx comes from
Debian's nginx-light (`make test` installs it when it may, as for chromium): without nginx the
tests are skipped, except with CI=true, where they fail.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import IN_CI, dispose, fresh_database, make_app, migrate
from ..mail.conftest import free_port
from .conftest import ROOT, gunicorn, stop

EXAMPLE = ROOT / "deploy" / "nginx" / "convene.conf"
HOST = "calls.example.org"


def _program(name: str) -> str:
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else ""
    )
    if not found:
        if IN_CI:
            pytest.fail(f"CI=true: {name} is needed (make test installs nginx-light)")
        pytest.skip(f"{name} is not installed")
    return found


@pytest.fixture
def nginx() -> str:
    return _program("nginx")


@pytest.fixture
def prefix() -> Iterator[Path]:
    """A folder for nginx's files that its workers (nobody, when run as root) may read."""
    folder = Path(tempfile.mkdtemp(prefix="convene-nginx-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            _program("openssl"),
            "req",
            "-x509",
            "-nodes",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-days",
            "2",
            "-subj",
            f"/CN={HOST}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def site_for_test(
    folder: Path, app_port: int, http_port: int, https_port: int, published: Path
) -> Path:
    """The example, with this machine's ports, certificate and folders; a main config around
    it (nginx.conf's part: pid, logs, temporary folders) in `folder`."""
    cert, key = certificate(folder)
    text = EXAMPLE.read_text()
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{app_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        f"/etc/letsencrypt/live/{HOST}/fullchain.pem": str(cert),
        f"/etc/letsencrypt/live/{HOST}/privkey.pem": str(key),
        "/var/log/nginx/convene.access.log": str(folder / "access.log"),
        "/var/log/nginx/convene.error.log": str(folder / "error.log"),
        "root /srv/convene/feeds;": f"root {published};",
        "root /var/www/letsencrypt;": f"root {folder / 'acme'};",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"the example no longer holds {old!r} once"
        text = text.replace(old, new)
    (folder / "convene.conf").write_text(text)
    temporary = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = folder / "nginx.conf"
    main.write_text(
        f"""pid {folder / "nginx.pid"};
error_log {folder / "main-error.log"};
daemon off;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    default_type application/octet-stream;
{temporary}
    include {folder / "convene.conf"};
}}
"""
    )
    return main


def test_the_example_passes_nginx_t(nginx: str, prefix: Path) -> None:
    main = site_for_test(prefix, 8000, free_port(), free_port(), prefix / "feeds")
    result = subprocess.run(
        [nginx, "-t", "-p", str(prefix), "-c", str(main), "-e", str(prefix / "startup.log")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx stopped:\n{log.read_text() if log.exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail("nginx did not listen")


class Client:
    """HTTPS to nginx as a visitor of calls.example.org (the test certificate is self-signed)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE

    def get(self, path: str, **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=self.context, timeout=30
        )
        try:
            connection.request("GET", path, headers={"Host": HOST, **headers})
            response = connection.getresponse()
            return response, response.read()
        finally:
            connection.close()


def test_nginx_serves_published_feeds_and_proxies_the_rest(
    nginx: str, prefix: Path, tmp_path: Path
) -> None:
    published = prefix / "feeds"
    with fresh_database("sqlite", tmp_path) as url:
        app = make_app(url)
        migrate(app)
        result = app.test_cli_runner().invoke(args=["feeds", "publish", str(published)])
        assert result.exit_code == 0, result.output
        dispose(app)
        calendar = (published / "calendar.ics").read_bytes()
        with gunicorn(url, tmp_path, PROXY_COUNT="1", WEB_CONCURRENCY="1") as app_server:
            app_port = int(app_server.url.rsplit(":", 1)[1])
            http_port, https_port = free_port(), free_port()
            main = site_for_test(prefix, app_port, http_port, https_port, published)
            log = prefix / "nginx.out"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    [nginx, "-p", str(prefix), "-c", str(main), "-e", str(prefix / "startup.log")],
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                wait_for_port(https_port, process, log)
                login_id = check_through_nginx(Client(https_port), calendar)
                plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
                plain.request("GET", "/notes?page=2", headers={"Host": HOST})
                redirect = plain.getresponse()
                assert redirect.status == 301
                assert redirect.headers["Location"] == f"https://{HOST}/notes?page=2"
                plain.close()
            finally:
                stop(process)
        entries = app_server.log_entries()
    (login,) = [e for e in entries if e["logger"] == "app.requests" and e["path"] == "/login"]
    # The address nginx saw, not the one the client claimed; nginx's id for the request.
    assert login["remote_addr"] == "127.0.0.1"
    assert login["request_id"] == login_id
    assert f"request={login_id}" in (prefix / "access.log").read_text()


def check_through_nginx(client: Client, calendar: bytes) -> str:
    """Requests through nginx; the request id of the one to /login."""
    # A published feed: nginx's own answer (the app always sets X-Request-ID).
    response, body = client.get("/calendar.ics")
    assert response.status == 200 and body == calendar
    assert response.headers["X-Request-ID"] is None
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
    assert etag and modified
    response, body = client.get("/calendar.ics", **{"If-None-Match": etag})
    assert response.status == 304 and body == b""
    response, _ = client.get("/calendar.ics", **{"If-Modified-Since": modified})
    assert response.status == 304

    # With options, or not published: the app's.
    response, body = client.get("/calendar.ics?alarm=30")
    assert response.status == 200 and response.headers["X-Request-ID"]
    assert b"BEGIN:VCALENDAR" in body
    response, _ = client.get("/series/no-such-series.ics")
    assert response.status == 404 and response.headers["X-Request-ID"]

    # Proxied: the app sees https, the public host, and nginx's address, whatever the client
    # sends in its own X-Forwarded-* headers.
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}
    response, _ = client.get("/api", **forged, **{"X-Forwarded-Host": "evil.example"})
    assert response.status == 308
    assert response.headers["Location"] == f"https://{HOST}/api/"
    response, _ = client.get("/login", **forged, **{"X-Request-ID": "client-chosen"})
    assert response.status == 200
    request_id = response.headers["X-Request-ID"]
    assert request_id != "client-chosen" and len(request_id) == 32  # nginx's $request_id
    response, body = client.get("/healthz")
    assert response.status == 200 and b'"database"' in body
    return request_id
