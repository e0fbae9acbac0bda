"""Subscribing without an account: the form, confirming, changing, unsubscribing.

Confirmation and unsubscribe links open a page with a button rather than acting on GET, so a
mail scanner that follows links changes nothing; the unsubscribe URL also takes RFC 8058's
one-click POST (no cookie, no CSRF token: the signed token is the authority).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug import Response

from app.auth.models import Role
from app.auth.routes import role_required
from app.db import db, utcnow
from app.security import csrf, rate_limits
from app.taxonomy.services import region_tree

from . import months, services, status
from .forms import MailSettingsForm, PreferencesForm, SubscribeForm
from .models import DigestFrequency, Subscriber
from .services import MailError, Preferences

bp = Blueprint("mail", __name__, template_folder="templates")

# Per address and per visitor: enough for typos, too few to bomb an inbox.
SUBSCRIBE_LIMITS = ("3 per hour", "10 per hour")


def _region_choices() -> list[tuple[str, str]]:
    choices: list[tuple[str, str]] = []

    def walk(regions: Any, depth: int) -> None:
        for region in regions:
            choices.append((region.slug, "\u2003" * depth + region.name))
            if not region.is_country:
                walk(region.children, depth + 1)

    walk(region_tree(db.session), 0)
    return choices


def _offer_monthly(form: PreferencesForm) -> bool:
    """Whether the form offers monthly digests: only while the roll-up is on. Otherwise the
    field is taken out, so a subscriber's monthly choice is kept as it is."""
    if services.mail_settings(db.session).is_rollup_on:
        return True
    del form.digest_frequency
    return False


def _preferences(form: PreferencesForm) -> Preferences:
    return Preferences(
        regions=form.regions.data or [],
        wants_reminders=form.wants_reminders.data,
        wants_digests=form.wants_digests.data,
        digest_frequency=(
            form.digest_frequency.data if form.digest_frequency is not None else None
        ),
        timezone=(form.timezone.data or "UTC").strip(),
        language=form.language.data or "en",
    )


def _form_page(template: str, form: PreferencesForm, status: int = 200, **context: Any) -> Any:
    return render_template(template, form=form, **context), status


def _refuse(form: PreferencesForm, exc: MailError) -> None:
    field = getattr(form, exc.field, None)
    if field is not None:
        field.errors = [*field.errors, str(exc)]


@bp.route("/email", methods=["GET", "POST"])
def subscribe() -> Any:
    """Subscribe to reminders and digests; the same answer for a new or a known address."""
    form = SubscribeForm()
    form.regions.choices = _region_choices()
    _offer_monthly(form)
    if request.method == "GET" or not form.validate():
        return _form_page("mail/subscribe.html", form, 200 if request.method == "GET" else 422)
    limits, address = rate_limits(), form.email.data.strip().lower()
    keys = [
        (SUBSCRIBE_LIMITS[0], f"subscribe:{address}"),
        (SUBSCRIBE_LIMITS[1], f"subscribe-ip:{request.remote_addr}"),
    ]
    if any(limits.is_exceeded(rule, key) for rule, key in keys):
        abort(429)
    try:
        services.subscribe(db.session, form.email.data, _preferences(form))
    except MailError as exc:
        _refuse(form, exc)
        return _form_page("mail/subscribe.html", form, 422)
    for rule, key in keys:
        limits.hit(rule, key)
    return render_template("mail/check_inbox.html")


def _message_page(exc: MailError) -> tuple[str, int]:
    return render_template(
        "mail/message.html", title=_("This link cannot be used"), message=str(exc)
    ), exc.status


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Any:
    if request.method == "GET":
        return render_template("mail/confirm.html", token=token)
    try:
        subscriber = services.confirm(db.session, token)
    except MailError as exc:
        return _message_page(exc)
    return render_template(
        "mail/message.html",
        title=_("Subscription confirmed"),
        message=_("You will receive what you chose. Every message has a link to change it."),
        manage_token=services.manage_token(subscriber),
    )


@bp.route("/email/manage/<token>", methods=["GET", "POST"])
def manage(token: str) -> Any:
    try:
        subscriber = services.subscriber_for_manage(db.session, token)
    except MailError as exc:
        return _message_page(exc)
    form = PreferencesForm(obj=_Choices(subscriber) if request.method == "GET" else None)
    form.regions.choices = _region_choices()
    offered = _offer_monthly(form)
    context = {
        "subscriber": subscriber,
        "token": token,
        "unsubscribe_token": services.unsubscribe_token(subscriber),
        "is_monthly_paused": (
            not offered and subscriber.digest_frequency == DigestFrequency.MONTHLY
        ),
    }
    if request.method == "GET":
        return _form_page("mail/manage.html", form, **context)
    if not form.validate():
        return _form_page("mail/manage.html", form, 422, **context)
    try:
        services.update_preferences(db.session, token, _preferences(form))
    except MailError as exc:
        _refuse(form, exc)
        return _form_page("mail/manage.html", form, 422, **context)
    return _form_page("mail/manage.html", form, saved=True, **context)


class _Choices:
    """A subscriber's choices as the form reads them."""

    def __init__(self, subscriber: Subscriber) -> None:
        self.regions = [region.slug for region in subscriber.regions]
        self.wants_reminders = subscriber.wants_reminders
        self.wants_digests = subscriber.wants_digests
        self.digest_frequency = subscriber.digest_frequency
        self.timezone = subscriber.timezone
        self.language = subscriber.language


@bp.get("/u/<token>")
def unsubscribe_page(token: str) -> Any:
    try:
        subscriber = services.subscriber_for_unsubscribe(db.session, token)
    except MailError as exc:
        return _message_page(exc)
    return render_template("mail/unsubscribe.html", token=token, subscriber=subscriber)


@bp.post("/u/<token>")
@csrf.exempt
def unsubscribe(token: str) -> Response | Any:
    """The unsubscribe button, and RFC 8058 one-click unsubscribe from mail programs."""
    try:
        services.unsubscribe(db.session, token)
    except MailError as exc:
        return _message_page(exc)
    return render_template(
        "mail/message.html",
        title=_("Unsubscribed"),
        message=_("You will receive no more reminders or digests."),
    )


@bp.get("/admin/outbox")
@role_required(Role.ADMIN)
def outbox_page() -> str:
    """The outbox by kind and status, the latest deliveries and failures, the schedulers."""
    shown = request.args.get("status", "")
    statuses = [shown] if shown in ("queued", "sending", "sent", "failed") else []
    now = utcnow()
    return render_template(
        "mail/outbox.html",
        counts=status.counts(db.session),
        deliveries=status.recent(db.session, statuses),
        backlog=status.backlog(db.session, now),
        heartbeats=status.heartbeats(db.session),
        shown=shown,
        now=now,
    )


@bp.route("/admin/mail", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def mail_settings_page() -> Any:
    """Switch the monthly roll-up on or off and choose the day it goes out."""
    settings = services.mail_settings(db.session)
    form = MailSettingsForm(obj=settings if request.method == "GET" else None)
    if request.method == "POST":
        try:
            if form.validate():
                services.save_mail_settings(
                    db.session, form.is_rollup_on.data, form.rollup_day.data
                )
                flash(_("The mail settings are saved."), "success")
                return redirect(url_for("mail.mail_settings_page"))
        except MailError as exc:
            _refuse(form, exc)
        return _settings_page(form, 422)
    return _settings_page(form)


def _settings_page(form: MailSettingsForm, status_code: int = 200) -> Any:
    last_month = months.previous_month(months.month_of(utcnow(), months.site_zone()))
    return render_template(
        "mail/settings.html",
        form=form,
        monthly_subscribers=status.monthly_subscribers(db.session),
        preview_month=f"{last_month:%Y-%m}",
    ), status_code
