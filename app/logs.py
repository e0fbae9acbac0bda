"""Logs: readable lines for people by default, one JSON object per line with LOG_FORMAT=json.

Every request gets an id: the X-Request-ID header it came with when that looks like an id (nginx
sends its $request_id), a new one otherwise; it is echoed in the response's X-Request-ID header
and carried by every log record written while the request runs. Each request ends with one
record on the `app.requests` logger (method, path, status, duration, client address), which is
the access log: gunicorn's own stays off. The development server prints its own line for each
request, so in text format under it ours is left out.

Records may carry structured data in `extra={"fields": {...}}`: the JSON format writes the
fields as keys of its object; the text format writes the message only, which says the same.

(Named `logs`, not `logging`, so that no script run from inside app/ imports it for the
standard library's module.)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time
import uuid
from typing import Any, TextIO

from flask import Flask, Response, current_app, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept as somebody else's request id: short, and nothing that could forge a log line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}")
QUIET_PATHS = frozenset({"/healthz"})  # polled every few seconds by monitors: logged at DEBUG

request_log = logging.getLogger("app.requests")


def request_id_from(header: str | None) -> str:
    """The incoming id if it is sane, else a new one (32 hex digits, like nginx's)."""
    if header and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    if has_request_context():
        return g.get("request_id")
    return None


def _install_record_factory() -> None:
    """Give every log record the current request's id (or None) as `request_id`, whichever
    handler ends up writing it; once per process."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id()
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (UTC), level, logger, message, pid, the
    request id inside a request, the record's fields, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({key: value for key, value in fields.items() if key not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`2026-03-10 14:00:00,123 INFO app.requests: GET / 200 4.1 ms [request 3f2a...]`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [request {request_id}]" if request_id else line


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT: "json", or "text" for anything else."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


class ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (pytest and gunicorn replace it)."""

    def __init__(self, log_format: str = "text") -> None:
        super().__init__()
        self.setFormatter(formatter_for(log_format))

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always sys.stderr


def configure(log_format: str, level: str = "INFO") -> None:
    """Send every logger's records to standard error in `log_format`, once per process: an app
    created again (or gunicorn's log config, which installs the same handler) replaces it."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, ConsoleHandler)]:
        root.removeHandler(handler)
    root.addHandler(ConsoleHandler(log_format))
    root.setLevel(level.upper())
    # APScheduler logs every run of every job at INFO (the scheduler's runner logs job runs);
    # Alembic lists its plugins at INFO in every process that imports it.
    for name in ("apscheduler", "alembic.runtime.plugins"):
        logging.getLogger(name).setLevel(logging.WARNING)


def loggable_path() -> str:
    """The request's path, with a signed token in it (the links in mail: /u/<token>) replaced:
    whoever reads the logs should not be able to manage somebody's subscription."""
    path = request.path
    token = (request.view_args or {}).get("token")
    if isinstance(token, str) and token:
        path = path.replace(token, "[token]")
    return path


def _start_request() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    if started is None:
        return response
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    if current_app.config.get("LOG_FORMAT") != "json" and request.environ.get(
        "SERVER_SOFTWARE", ""
    ).startswith("Werkzeug/"):
        return response  # the development server has printed this request already
    if response.status_code >= 500:
        level = logging.WARNING  # the error itself was logged where it happened
    else:
        level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
    path = loggable_path()
    fields = {
        "method": request.method,
        "path": path,
        "status": response.status_code,
        "duration_ms": duration_ms,
        "remote_addr": request.remote_addr,
    }
    request_log.log(
        level,
        "%s %s %s %.1f ms",
        request.method,
        path,
        response.status_code,
        duration_ms,
        extra={"fields": fields},
    )
    return response


def init_app(app: Flask) -> None:
    """Configure logging (unless LOG_FORMAT is empty) and time and number every request.

    Call it before the other extensions: before-request hooks run in the order they were added
    (the id exists before anything logs) and after-request hooks in the reverse order (the
    duration includes the commit)."""
    _install_record_factory()
    if app.config.get("LOG_FORMAT"):
        configure(app.config["LOG_FORMAT"], app.config.get("LOG_LEVEL", "INFO"))
    app.before_request(_start_request)
    app.after_request(_finish_request)
