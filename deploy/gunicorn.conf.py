"""gunicorn's settings for Convene: `gunicorn -c deploy/gunicorn.conf.py "app:create_app()"`.

Read from the environment (the app's own settings come from config.py):

- GUNICORN_BIND (127.0.0.1:8000): where to listen; behind nginx, loopback or a unix socket
  ("unix:/run/convene/web.sock").
- WEB_CONCURRENCY (2 x CPUs + 1): worker processes. Each has its own PostgreSQL pool
  (DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW connections at most) and its own page cache.
- GUNICORN_THREADS (1): threads per worker; above 1 the workers are gthread workers.
- GUNICORN_TIMEOUT (30) and GUNICORN_GRACEFUL_TIMEOUT (30): a worker silent for longer is
  killed; on SIGTERM, workers finish their requests for up to the graceful timeout.
- GUNICORN_PRELOAD (1): load the app once in the master before forking (faster start, less
  memory, and a bad configuration stops the master at once instead of every worker failing).
  Engines and pools created before the fork are disposed of in each worker (`post_fork`), so
  no two processes ever share a database connection. With preloading, SIGHUP does not load
  new code: restart after a deploy.
- GUNICORN_ACCESS_LOG (off): the app logs every request itself (app/logs.py, with the request
  id, duration and the client's address behind the proxy); set "-" for gunicorn's access log
  as well.
- LOG_FORMAT (text) and LOG_LEVEL (INFO): gunicorn's own messages are formatted as the app's.

Sync workers suit the app behind nginx, which buffers slow clients; the scheduler runs in its
own process (`flask scheduler run`), never in a worker.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

import sqlalchemy as sa


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


wsgi_app = "app:create_app()"
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
preload_app = _flag("GUNICORN_PRELOAD", True)
proc_name = "convene-web"
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"  # the workers' heartbeat files: never on a slow or full disk

accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request=%({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
_log_format = os.environ.get("LOG_FORMAT", "text") or "text"
# gunicorn's messages go through the app's handler and format (app/logs.py); the app, once
# created, replaces that handler with the same one rather than adding a second.
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "console": {"()": "app.logs.ConsoleHandler", "log_format": _log_format},
    },
    "root": {"level": loglevel.upper(), "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        # With a log config, gunicorn logs access unless its logger is off.
        "gunicorn.access": {
            "level": "INFO" if accesslog else "CRITICAL",
            "handlers": [],
            "propagate": bool(accesslog),
        },
    },
}


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker: forget the connections of the preloaded app's engines (SQLAlchemy's
    recipe for pools across fork: close=False leaves the parent's sockets alone)."""
    application = getattr(server.app, "callable", None)
    for extension in getattr(application, "extensions", {}).values():
        if isinstance(extension, sa.Engine):
            extension.dispose(close=False)
