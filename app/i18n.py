"""Languages and time zones: every user-facing string goes through gettext (Flask-Babel).

The locale is the signed-in user's choice, then the visitor's choice (a cookie set from the
language menu), then the browser's Accept-Language; dates and times are formatted by Babel for it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from flask import Flask, current_app, request
from flask_babel import Babel, get_locale
from flask_login import current_user

LOCALE_COOKIE = "convene_locale"

babel = Babel()


def supported_locale(value: str | None) -> str | None:
    """`value` if it is one of the configured languages, else None."""
    if value and value in current_app.config["LANGUAGES"]:
        return value
    return None


def select_locale() -> str:
    user_choice = getattr(current_user, "locale", None) if current_user else None
    return (
        supported_locale(user_choice)
        or supported_locale(request.cookies.get(LOCALE_COOKIE))
        or request.accept_languages.best_match(current_app.config["LANGUAGES"])
        or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    zone = getattr(current_user, "timezone", None) if current_user else None
    return zone if zone and is_valid_timezone(zone) else current_app.config["DEFAULT_TIMEZONE"]


def is_valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def language_choices() -> list[tuple[str, str]]:
    """(code, name in its own language) for each configured language."""
    return [
        (code, Locale.parse(code).get_display_name(code).capitalize())
        for code in current_app.config["LANGUAGES"]
    ]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.add_extension("jinja2.ext.i18n")

    @app.context_processor
    def inject_locale() -> dict[str, object]:
        return {"current_locale": get_locale(), "language_choices": language_choices}
