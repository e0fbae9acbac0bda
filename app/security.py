"""Security headers on every response, CSRF protection on every form, and rate limits.

Rate limits use the `limits` library: its storage is in memory for one process, or Redis (set
RATELIMIT_STORAGE_URI=redis://host:port) so that a limit holds across several web workers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_wtf import CSRFProtect
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

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


class RateLimits:
    """Named moving-window limits over one shared storage."""

    def __init__(self, storage_uri: str) -> None:
        self.storage = storage_from_string(storage_uri)
        self.limiter = MovingWindowRateLimiter(self.storage)

    def is_exceeded(self, rule: str, key: str) -> bool:
        """True when `key` has already used up `rule` ("5 per minute") in the current window."""
        return not self.limiter.test(parse(rule), key)

    def hit(self, rule: str, key: str) -> None:
        self.limiter.hit(parse(rule), key)

    def clear(self, rule: str, key: str) -> None:
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
    app.extensions["convene.rate_limits"] = RateLimits(app.config["RATELIMIT_STORAGE_URI"])
    app.after_request(set_security_headers)
