"""Security headers on every response, CSRF protection on every form, and rate limits.

Rate limits use the `limits` library: its storage is in memory for one process, or Redis (set
RATELIMIT_STORAGE_URI=redis://host:port) so that a limit holds across several web workers. Keys
in Redis start with RATELIMIT_KEY_PREFIX, so that sites (and test runs) sharing a server do not
count each other's failures.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext as _
from flask_wtf import CSRFProtect
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import ServiceUnavailable

log = logging.getLogger(__name__)

csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["HSTS"]:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a response marked `Cache-Control: public`
    (a feed) neither varies on Cookie nor carries a session cookie.

    Flask adds `Vary: Cookie` whenever the session was looked at, and Flask-Login looks at it
    after every request (for its remember-me cookie), so every response varied on Cookie and a
    shared cache kept one copy of a feed per visitor. A public response is the same for everyone
    by definition; if the session was nevertheless changed, it is saved as usual.
    """

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if response.cache_control.public and not session.modified:
            return
        super().save_session(app, session, response)


def safe_redirect_target(target: str | None) -> str:
    """`target` if it is a path on this site, else the home page: no open redirects."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.index")


REDIS_SCHEMES = ("redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix")
# A Redis that stops answering costs a sign-in two seconds, not a worker for ever; a timeout
# given in the URI (?socket_timeout=) wins.
REDIS_TIMEOUTS = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}


def storage_options(storage_uri: str, key_prefix: str) -> dict[str, Any]:
    """Options for the storage named by `storage_uri`: the key prefix for any Redis."""
    scheme = storage_uri.split("://", 1)[0].lower()
    if not scheme.startswith(("redis", "valkey")):
        return {}
    options: dict[str, Any] = {"key_prefix": key_prefix}
    if scheme in REDIS_SCHEMES:
        options |= REDIS_TIMEOUTS
    return options


def _storage_errors() -> tuple[type[Exception], ...]:
    try:
        from redis.exceptions import RedisError
    except ImportError:  # no Redis client installed: only the memory storage is possible
        return (ConnectionError, TimeoutError)
    return (RedisError, ConnectionError, TimeoutError)


STORAGE_ERRORS = _storage_errors()


@contextlib.contextmanager
def _storage_answering() -> Iterator[None]:
    """A storage that does not answer (Redis down) is a 503 that says so: a throttled form is
    refused, not let through unthrottled, and never a 500."""
    try:
        yield
    except STORAGE_ERRORS as exc:
        log.error("rate-limit storage unavailable: %s", exc)
        raise ServiceUnavailable(
            _("This form is unavailable for a moment. Try again in a minute."),
            retry_after=30,
        ) from None


class RateLimits:
    """Named moving-window limits over one shared storage."""

    def __init__(self, storage_uri: str, key_prefix: str = "convene") -> None:
        self.storage = storage_from_string(storage_uri, **storage_options(storage_uri, key_prefix))
        self.limiter = MovingWindowRateLimiter(self.storage)

    def is_exceeded(self, rule: str, key: str) -> bool:
        """True when `key` has already used up `rule` ("5 per minute") in the current window."""
        with _storage_answering():
            return not self.limiter.test(parse(rule), key)

    def hit(self, rule: str, key: str) -> None:
        with _storage_answering():
            self.limiter.hit(parse(rule), key)

    def clear(self, rule: str, key: str) -> None:
        with _storage_answering():
            self.limiter.clear(parse(rule), key)

    def reset(self) -> None:
        self.storage.reset()


def rate_limits() -> RateLimits:
    return current_app.extensions["convene.rate_limits"]


def refuse_nul_characters() -> None:
    """A NUL character in a form field or query argument is refused with 400 before any view
    runs: no text we store can hold one (PostgreSQL refuses them), and none is ever meant."""
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in value or "\x00" in key:
                name = key.replace("\x00", "")[:40]
                abort(400, f"{name}: the value holds a NUL character, which no field accepts.")


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.before_request(refuse_nul_characters)
    csrf.init_app(app)
    app.extensions["convene.rate_limits"] = RateLimits(
        app.config["RATELIMIT_STORAGE_URI"], app.config.get("RATELIMIT_KEY_PREFIX", "convene")
    )
    app.after_request(set_security_headers)
