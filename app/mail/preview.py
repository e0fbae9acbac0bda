"""Editors' preview of a note's digest, for any set of regions, before or after publishing;
and of a month's roll-up (the notes published that month) for any set of regions.

The page is the digest's HTML itself, as a subscriber's mail program shows it; its own Content
Security Policy allows the inline styles a mail needs and nothing else (no scripts, no forms).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug import Response

from app.auth.models import Role
from app.auth.routes import role_required
from app.db import db, utcnow
from app.notes.models import Note
from app.taxonomy.models import Region

from . import digests, months, rollup, services
from .cli import sending

bp = Blueprint("mail_preview", __name__)

PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# The preview's own links: they lead nowhere, as no subscriber is behind them.
PREVIEW_LINKS = digests.Links("#manage-preferences", "#unsubscribe")


class Refused(Exception):
    """A preview asked for something that is not there: the page says what."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _refusal(exc: Refused) -> Any:
    return render_template(
        "mail/message.html", title=_("No digest to preview"), message=str(exc)
    ), exc.status


def _regions_and_language() -> tuple[list[int], str]:
    """?region=...&region=... (none: everything) and ?lang=, checked."""
    slugs = list(dict.fromkeys(s.strip().lower() for s in request.args.getlist("region")))
    regions = list(db.session.scalars(sa.select(Region).where(Region.slug.in_(slugs))))
    unknown = sorted(set(slugs) - {region.slug for region in regions})
    if unknown:
        raise Refused(_("There is no region %(slug)s.", slug=repr(unknown[0][:40])))
    language = request.args.get("lang", "en")
    if language not in services.LANGUAGES:
        choices = ", ".join(services.LANGUAGES)
        raise Refused(_("The language must be one of %(choices)s.", choices=choices))
    return [region.id for region in regions], language


def _show(rendered: digests.Rendered) -> Response:
    """The mail's HTML as a mail program shows it, or ?format=text: its subject and text."""
    if request.args.get("format") == "text":
        response = make_response(f"Subject: {rendered.subject}\n\n{rendered.text}")
        response.mimetype = "text/plain"
    else:
        response = make_response(rendered.html)
        response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/notes/<slug>/digest")
@role_required(Role.EDITOR)
def preview_digest(slug: str) -> Any:
    """A note's digest for ?region=...&region=... (none: everything), ?lang=, ?format=text."""
    note_id = db.session.scalar(sa.select(Note.id).where(Note.slug == slug))
    note = digests.load_note(db.session, note_id) if note_id is not None else None
    if note is None:
        abort(404)
    try:
        region_ids, language = _regions_and_language()
    except Refused as exc:
        return _refusal(exc)
    rendered = digests.digest_for(db.session, note, region_ids, language, sending(), PREVIEW_LINKS)
    if rendered is None:
        message = _("Nothing in this note is for these regions: no digest is sent.")
        return _refusal(Refused(message, 200))
    return _show(rendered)


@bp.get("/digests/monthly")
@role_required(Role.EDITOR)
def preview_rollup() -> Any:
    """The roll-up of ?month=YYYY-MM (default: last month), for ?region= and ?lang= as above."""
    zone = months.site_zone()
    text = request.args.get("month", "")
    month = (
        months.parse_month(text) if text else months.previous_month(months.month_of(utcnow(), zone))
    )
    try:
        if month is None:
            raise Refused(_("Give the month as YYYY-MM, such as 2026-11."))
        region_ids, language = _regions_and_language()
    except Refused as exc:
        return _refusal(exc)
    rendered = rollup.rollup_for(
        db.session, month, region_ids, language, sending(), PREVIEW_LINKS, zone
    )
    if rendered is None:
        message = _("Nothing published that month is for these regions: no roll-up is sent.")
        return _refusal(Refused(message, 200))
    return _show(rendered)
