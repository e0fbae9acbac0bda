"""Error responses: HTML pages for people, JSON under /api/."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

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
    }


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        403: _("You do not have permission to see this page."),
        404: _("There is nothing at this address. Check the link, or start from the home page."),
        405: _("This address does not accept that kind of request."),
        429: _("Too many attempts. Wait a minute and try again."),
        500: _("An unexpected error happened on our side. It has been logged."),
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


def handle_server_error(exc: InternalServerError) -> tuple[Response | str, int]:
    original = getattr(exc, "original_exception", None)
    if original is not None:
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
    return error_response(500)


def handle_csrf_error(exc: CSRFError) -> tuple[Response | str, int]:
    log.info("CSRF check failed on %s: %s", request.path, exc.description)
    return error_response(
        400,
        _("This form has expired or did not come from this site. Reload the page and try again."),
    )


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(HTTPException, handle_http_exception)
