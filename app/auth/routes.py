"""Sign in and out; the team page for admins."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug import Response

from app.db import db
from app.forms import options
from app.i18n import language_choices
from app.security import rate_limits, safe_redirect_target

from . import services
from .forms import AccountForm, LoginForm
from .models import Role

bp = Blueprint("auth", __name__, template_folder="templates")


def role_required(role: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow the view to signed-in users with `role` (admins may do everything)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role != role and not current_user.is_admin:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _throttle_keys(email: str) -> list[tuple[str, str]]:
    config = current_app.config
    return [
        (config["LOGIN_FAILURES_PER_ACCOUNT"], f"login-failures:account:{email.strip().lower()}"),
        (config["LOGIN_FAILURES_PER_IP"], f"login-failures:ip:{request.remote_addr}"),
    ]


@bp.get("/login")
def login() -> str | Response:
    """Show the sign-in form."""
    if current_user.is_authenticated:
        return redirect(safe_redirect_target(request.args.get("next")))
    return render_template("auth/login.html", form=LoginForm())


@bp.post("/login")
def login_submit() -> tuple[str, int] | Response:
    """Sign in, refusing the sixth failure within a minute per account and per address."""
    form = LoginForm()
    if not form.validate():
        return render_template("auth/login.html", form=form), 422
    limits = rate_limits()
    keys = _throttle_keys(form.email.data)
    if any(limits.is_exceeded(rule, key) for rule, key in keys):
        abort(429)
    user = services.authenticate(db.session, form.email.data, form.password.data)
    if user is None:
        for rule, key in keys:
            limits.hit(rule, key)
        flash(_("Wrong email or password."), "error")
        return render_template("auth/login.html", form=form), 401
    limits.clear(*keys[0])
    login_user(user, remember=form.remember.data)
    flash(_("Signed in as %(name)s.", name=user.name), "success")
    return redirect(safe_redirect_target(request.args.get("next")))


@bp.post("/logout")
def logout() -> Response:
    """Sign out."""
    logout_user()
    flash(_("You are signed out."), "success")
    return redirect(url_for("main.index"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def edit_account() -> str | tuple[str, int] | Response:
    """A team member's own name, language and time zone."""
    form = AccountForm(obj=current_user if request.method == "GET" else None)
    form.locale.choices = options([("", _("As my browser says")), *language_choices()])
    if request.method == "POST":
        if form.validate():
            try:
                services.update_profile(
                    db.session,
                    current_user,
                    name=form.name.data,
                    locale=form.locale.data,
                    timezone=form.timezone.data,
                )
            except services.AccountError as exc:
                form.timezone.errors = [*form.timezone.errors, str(exc)]
            else:
                flash(_("Your settings are saved."), "success")
                return redirect(url_for("auth.edit_account"))
        return render_template("auth/account.html", form=form), 422
    return render_template("auth/account.html", form=form)


@bp.get("/team")
@role_required(Role.ADMIN)
def list_team() -> str:
    """The campaign team's accounts (admins only)."""
    return render_template("auth/team.html", users=services.list_users(db.session))
