"""Error responses: HTML pages for people, JSON under /api/.

A database that cannot serve (down, restarting, out of connections, locked for too long) is a
503 that says so, not a 500: the request failed cleanly and the same request will work once the
database is back, without restarting the app (the pool's pre-ping replaces dead connections).
"""

from __future__ import annotations

import logging
import sqlite3

import sqlalchemy as sa
from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .db import db

log = logging.getLogger(__name__)


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        403: _("Forbidden"),
        404: _("Page not found"),
        405: _("Method not allowed"),
        413: _("Request too large"),
        422: _("Unprocessable input"),
        429: _("Too many requests"),
        500: _("Something went wrong"),
        503: _("Service unavailable"),
    }


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        403: _("You do not have permission to see this page."),
        404: _("There is nothing at this address. Check the link, or start from the home page."),
        405: _("This address does not accept that kind of request."),
        429: _("Too many attempts. Wait a minute and try again."),
        500: _("An unexpected error happened on our side. It has been logged."),
        503: _("The database cannot be reached right now. Try again in a minute."),
    }


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(code: int, message: str | None = None) -> tuple[Response | str, int]:
    """The error page (or JSON body under /api/) for `code`, with `message` or the default."""
    title = _titles().get(code, _("Error"))
    text = message or _messages().get(code, title)
    if wants_json():
        return jsonify(error={"status": code, "title": title, "message": text}), code
    return render_template("errors/error.html", code=code, title=title, message=text), code


def handle_http_exception(exc: HTTPException) -> tuple[Response | str, int] | Response:
    code = exc.code or 500
    response = exc.get_response()
    # A description set by our code (abort(400, "...")) is shown; werkzeug's stock text is not.
    message = exc.description if exc.description != type(exc).description else None
    body, status = error_response(code, message)
    result = body if isinstance(body, Response) else Response(body, mimetype="text/html")
    result.status_code = status
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response.headers:
            result.headers[header] = response.headers[header]
    return result


def handle_server_error(exc: InternalServerError) -> tuple[Response | str, int] | Response:
    original = getattr(exc, "original_exception", None)
    if isinstance(original, sa.exc.DBAPIError) and database_unavailable(original):
        return unavailable(original)  # lost while committing, after the view
    if original is not None:
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
    return error_response(500)


def handle_csrf_error(exc: CSRFError) -> tuple[Response | str, int]:
    log.info("CSRF check failed on %s: %s", request.path, exc.description)
    return error_response(
        400,
        _("This form has expired or did not come from this site. Reload the page and try again."),
    )


# SQLite's primary result codes that mean "not now" rather than "wrong statement".
SQLITE_UNAVAILABLE = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_NOMEM,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PROTOCOL,
}
RETRY_AFTER_SECONDS = 30


def database_unavailable(exc: sa.exc.DBAPIError) -> bool:
    """Whether the database could not serve, as opposed to refusing a statement: a lost or
    refused connection, a server shutting down or starting up, too many connections (psycopg's
    OperationalError), or SQLite busy, locked or unable to read its file."""
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error):
        return (getattr(exc.orig, "sqlite_errorcode", 0) & 0xFF) in SQLITE_UNAVAILABLE
    return isinstance(exc, sa.exc.OperationalError)


def handle_database_error(exc: sa.exc.DBAPIError) -> Response:
    """503 when the database is unavailable; any other database error goes on to the 500
    handler (re-raised, so that it is logged and signalled as unhandled)."""
    if not database_unavailable(exc):
        raise exc
    return unavailable(exc)


def handle_pool_timeout(exc: sa.exc.TimeoutError) -> Response:
    """Every pooled connection busy for DATABASE_POOL_TIMEOUT seconds: a 503 too."""
    return unavailable(exc)


def unavailable(exc: sa.exc.DBAPIError | sa.exc.TimeoutError) -> Response:
    """The 503 page (JSON under /api/), with Retry-After."""
    reason = getattr(exc, "orig", None) or exc
    log.warning("database unavailable on %s %s: %s", request.method, request.path, reason)
    try:
        db.session.rollback()  # so that the page may use the session (a signed-in visitor)
        body, status = error_response(503)
    except sa.exc.SQLAlchemyError:
        # The page needed the database itself (a signed-in visitor's name and language).
        body, status = _bare_unavailable(), 503
    response = body if isinstance(body, Response) else Response(body, mimetype="text/html")
    response.status_code = status
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _bare_unavailable() -> Response:
    title, text = "Service unavailable", "The database cannot be reached right now."
    if wants_json():
        return jsonify(error={"status": 503, "title": title, "message": text})
    html = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{text}</p>"
    return Response(html, mimetype="text/html")


def init_app(app: Flask) -> None:
    app.register_error_handler(sa.exc.DBAPIError, handle_database_error)
    app.register_error_handler(sa.exc.TimeoutError, handle_pool_timeout)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(HTTPException, handle_http_exception)
