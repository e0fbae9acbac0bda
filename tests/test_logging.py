"""Logs: request ids, one record per request, JSON lines, and the scheduler's job runs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Put the root logger back as it was: apps made with LOG_FORMAT configure it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "app.requests"]


def test_a_sane_request_id_is_kept_and_echoed(client: FlaskClient) -> None:
    for given in ("abc-123", "5f0c6c1e0a3b4b7d9e2f1a0b3c4d5e6f", "trace:1/2+3=4"):
        response = client.get("/healthz", headers={"X-Request-ID": given})
        assert response.headers["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given", ["", "has spaces", "x" * 200, '"quoted"', "-leading-dash", "tab\there"]
)
def test_other_request_ids_are_replaced(client: FlaskClient, given: str) -> None:
    response = client.get("/", headers={"X-Request-ID": given})
    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])


def test_each_request_gets_its_own_id(client: FlaskClient) -> None:
    ids = {client.get("/").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3 and all(HEX_ID.fullmatch(value) for value in ids)


def test_one_record_per_request_with_its_fields(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = client.get("/notes/no-such-note", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    (record,) = request_records(caplog)
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("GET /notes/no-such-note 404 ")
    assert record.request_id == response.headers["X-Request-ID"]
    fields = record.fields
    assert fields["method"] == "GET" and fields["path"] == "/notes/no-such-note"
    assert fields["status"] == 404 and fields["remote_addr"] == "203.0.113.7"
    assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] >= 0


def test_tokens_in_paths_are_not_logged(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client.get("/u/eyJzIjoxLCJlIjoiYUBiLm9yZyJ9.signature")
    (record,) = request_records(caplog)
    assert record.fields["path"] == "/u/[token]"
    assert "eyJ" not in record.getMessage()


def test_records_written_during_a_request_carry_its_id(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = client.post("/login", data={"email": "x@example.org"})  # no CSRF token
    assert response.status_code == 400
    csrf = [r for r in caplog.records if r.name == "app.errors" and "CSRF" in r.getMessage()]
    assert csrf and csrf[0].request_id == response.headers["X-Request-ID"]


def test_health_checks_are_logged_at_debug(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.get("/healthz")
    (record,) = request_records(caplog)
    assert record.levelno == logging.DEBUG


def test_the_development_server_logs_requests_itself(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """In text format, werkzeug's server prints each request; the app adds no second line."""
    caplog.set_level(logging.INFO)
    client.get("/", environ_base={"SERVER_SOFTWARE": "Werkzeug/3.1.3"})
    assert request_records(caplog) == []


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_format_writes_one_object_per_line(
    app_factory: Any, root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_factory(LOG_FORMAT="json", PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("the detail\nover two lines")

    client = app.test_client()
    capsys.readouterr()
    page = client.get("/login", headers={"X-Request-ID": "req-1"})
    client.get("/boom", headers={"X-Request-ID": "req-2"})
    # Under the development server, JSON logs still get the app's request line.
    client.get("/login", environ_base={"SERVER_SOFTWARE": "Werkzeug/3.1.3"})
    output = capsys.readouterr().err
    lines = output.splitlines()
    assert lines and all(line.startswith("{") for line in lines), output
    entries = json_lines(output)
    requests = [entry for entry in entries if entry["logger"] == "app.requests"]
    assert len(requests) == 3
    first = requests[0]
    assert first["request_id"] == "req-1" == page.headers["X-Request-ID"]
    assert first["level"] == "INFO"
    assert first["method"] == "GET" and first["path"] == "/login" and first["status"] == 200
    assert first["remote_addr"] == "127.0.0.1" and first["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    assert first["message"].startswith("GET /login 200 ")
    (error,) = [entry for entry in entries if entry["logger"] == "app.errors"]
    assert error["level"] == "ERROR" and error["request_id"] == "req-2"
    assert "RuntimeError: the detail\nover two lines" in error["exception"]
    assert requests[1]["status"] == 500 and requests[1]["level"] == "WARNING"


def test_text_format_is_readable(
    app_factory: Any, root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    client = app_factory(LOG_FORMAT="text").test_client()
    capsys.readouterr()
    client.get("/login", headers={"X-Request-ID": "req-9"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO app\.requests: GET /login 200 [\d.]+ ms "
        r"\[request req-9\]",
        line,
    ), line


def test_a_second_app_does_not_double_the_lines(
    app_factory: Any, root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each create_app configures logging; the handler is replaced, not added again."""
    app_factory(LOG_FORMAT="json")
    client = app_factory(LOG_FORMAT="json").test_client()
    capsys.readouterr()
    client.get("/login")
    assert len(json_lines(capsys.readouterr().err)) == 1


@pytest.mark.usefixtures("queued_confirmation")
def test_scheduler_job_runs_are_logged(
    app: Flask, runner: Any, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="app.scheduler.runner")
    result = runner.invoke(args=["scheduler", "run", "--once"])
    assert result.exit_code == 0, result.output
    runs = {
        record.fields["job"]: record
        for record in caplog.records
        if record.name == "app.scheduler.runner" and hasattr(record, "fields")
    }
    assert {"regenerate-calls", "enqueue-reminders", "drain-outbox"} <= set(runs)
    drain = runs["drain-outbox"]
    assert drain.levelno == logging.INFO  # it sent the confirmation
    assert drain.fields["result"] == "ok" and drain.fields["duration_ms"] >= 0
    assert "sent=1" in drain.fields["detail"]
    assert runs["enqueue-reminders"].levelno == logging.DEBUG  # nothing was due
