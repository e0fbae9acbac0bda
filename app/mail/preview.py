"""Editors' preview of a note's digest, for any set of regions, before or after publishing.

The page is the digest's HTML itself, as a subscriber's mail program shows it; its own Content
Security Policy allows the inline styles a mail needs and nothing else (no scripts, no forms).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import gettext as _

from app.auth.models import Role
from app.auth.routes import role_required
from app.db import db
from app.notes.models import Note
from app.taxonomy.models import Region

from . import digests, services
from .cli import sending

bp = Blueprint("mail_preview", __name__)

PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# The preview's own links: they lead nowhere, as no subscriber is behind them.
PREVIEW_LINKS = digests.Links("#manage-preferences", "#unsubscribe")


def _refuse(message: str, status: int) -> Any:
    return render_template(
        "mail/message.html", title=_("No digest to preview"), message=message
    ), status


@bp.get("/notes/<slug>/digest")
@role_required(Role.EDITOR)
def preview_digest(slug: str) -> Any:
    """A note's digest for ?region=...&region=... (none: everything), ?lang=, ?format=text."""
    note_id = db.session.scalar(sa.select(Note.id).where(Note.slug == slug))
    note = digests.load_note(db.session, note_id) if note_id is not None else None
    if note is None:
        abort(404)
    slugs = list(dict.fromkeys(s.strip().lower() for s in request.args.getlist("region")))
    regions = list(db.session.scalars(sa.select(Region).where(Region.slug.in_(slugs))))
    unknown = sorted(set(slugs) - {region.slug for region in regions})
    if unknown:
        return _refuse(_("There is no region %(slug)s.", slug=repr(unknown[0][:40])), 400)
    language = request.args.get("lang", "en")
    if language not in services.LANGUAGES:
        choices = ", ".join(services.LANGUAGES)
        return _refuse(_("The language must be one of %(choices)s.", choices=choices), 400)
    rendered = digests.digest_for(
        db.session, note, [r.id for r in regions], language, sending(), PREVIEW_LINKS
    )
    if rendered is None:
        return _refuse(_("Nothing in this note is for these regions: no digest is sent."), 200)
    if request.args.get("format") == "text":
        response = make_response(f"Subject: {rendered.subject}\n\n{rendered.text}")
        response.mimetype = "text/plain"
    else:
        response = make_response(rendered.html)
        response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    response.headers["Cache-Control"] = "private, no-store"
    return response
