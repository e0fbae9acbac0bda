"""Campaign-team accounts: sign-in, roles, login throttling, the `flask users` commands."""

from __future__ import annotations

from flask import Flask, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from werkzeug import Response

from app.db import db
from app.errors import error_response

from .models import Role, User

login_manager = LoginManager()


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in user, while their account exists and is active."""
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.is_active else None


@login_manager.unauthorized_handler
def unauthorized() -> Response | tuple[Response | str, int]:
    """Send people to the sign-in page; answer API clients with a JSON 401."""
    if request.path.startswith("/api/"):
        return error_response(401, str(_l("Sign in first.")))
    flash(str(_l("Please sign in to see this page.")), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    from .cli import users_cli
    from .routes import bp

    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.cli.add_command(users_cli)


__all__ = ["Role", "User", "init_app", "login_manager"]
