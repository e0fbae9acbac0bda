"""Home page, language menu and the API index."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from werkzeug import Response

from app.cache import cached_html
from app.calls.routes import call_view
from app.calls.services import upcoming_calls
from app.db import db, utcnow
from app.i18n import LOCALE_COOKIE, supported_locale
from app.security import safe_redirect_target

bp = Blueprint("main", __name__, template_folder="templates")

ONE_YEAR = 365 * 24 * 3600
HOME_CALLS = 10


@bp.get("/")
def index() -> Response:
    """The home page: upcoming calls, with their times in every display city."""

    def build() -> tuple[str, dt.datetime | None]:
        calls = upcoming_calls(db.session, utcnow(), limit=HOME_CALLS)
        html = render_template("main/index.html", views=[call_view(call) for call in calls])
        # The list changes when its first call ends (or when the schedule changes).
        return html, min((call.end_at for call in calls), default=None)

    return cached_html("schedule", "home", build)


@bp.get("/language")
def choose_language() -> Response:
    """Remember the visitor's language in a cookie and go back to the page they were on.

    A GET form: choosing a display language changes no data, and pages without a CSRF token
    are the same for every anonymous visitor, so they can be served from the cache.
    """
    locale = supported_locale(request.args.get("locale"))
    response = redirect(safe_redirect_target(request.args.get("next")))
    if locale:
        response.set_cookie(
            LOCALE_COOKIE,
            locale,
            max_age=ONE_YEAR,
            samesite="Lax",
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        )
    return response


@bp.get("/api/")
def api_index() -> Response:
    """What the JSON API offers."""
    return jsonify(name="Convene API", version=current_app.config.get("VERSION", "0.1.0"))
