"""The monthly roll-up: once a month, the digests of a month in one mail, for those who chose it.

An admin switches it on (MailSettings) and picks the day of the month it goes out. Subscribers
who chose "once a month" then get no digest after each call (digests.py leaves them out) but,
on that day, one mail with the previous month's notes, oldest first, each as their digest would
show it: their regions with sub-regions, global updates for everyone, speakers named, each
update linked to its anchor. Nobody gets an empty roll-up. While the roll-up is off, monthly
subscribers get a digest after each call, so nobody silently stops getting mail.

Which notes: those published (not drafts, not deleted) in the month, by the date they were
published, that were news when published (see digests.is_news). The month of publication
rather than of the call: the digest after each call follows publication too, and a call at
the end of a month whose notes are published after its roll-up went out would otherwise be in
no mail at all. A roll-up therefore holds exactly the notes whose digests a subscriber per
call received that month.

When: the scheduler's job asks every few minutes (`enqueue_due_rollup`); once the day has come
(in the site's time zone) it queues the previous month's roll-up. Deliveries are unique per
(kind, subject, subscriber) with the subject "month:2026-11", so asking again queues nothing
twice. A month that had ended before the roll-up was switched on gets none: switching it on
must not send at once what its subscribers already received after each call.

Rendering: once per (regions, language) and month, like digests, with the same pieces.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_skeleton
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.notes.models import Note, NoteStatus

from . import digests, months, outbox, services
from .digests import Chosen, Digest, Links, RegionNode, RegionTree, Rendered
from .message import Mail
from .models import DigestFrequency, MailSettings, Subscriber
from .outbox import Sending

KIND = months.ROLLUP_KIND


@dataclasses.dataclass
class Rollup:
    """What one set of regions sees of a month: each note's digest, oldest note first."""

    month: dt.date
    digests: list[Digest]
    global_region: RegionNode | None
    is_everything: bool

    @property
    def is_empty(self) -> bool:
        return not self.digests


def select_rollup(
    month: dt.date, notes: Sequence[Note], tree: RegionTree, chosen: Chosen
) -> Rollup:
    """The month's notes for someone who chose `chosen`, leaving out notes with nothing for them."""
    selected = [digests.select_digest(note, tree, chosen) for note in notes]
    global_region = tree.nodes.get(tree.global_id) if tree.global_id is not None else None
    kept = [digest for digest in selected if not digest.is_empty]
    return Rollup(month, kept, global_region, chosen.is_everything)


def month_notes(session: Session, month: dt.date, zone: ZoneInfo) -> list[Note]:
    """The notes a month's roll-up covers (see the module's docstring), oldest first."""
    start_at, end_at = months.bounds(month, zone)
    notes = session.scalars(
        sa.select(Note)
        .where(
            Note.status == NoteStatus.PUBLISHED.value,
            Note.published_at >= start_at,
            Note.published_at < end_at,
        )
        .options(*digests.note_options())
    ).all()
    # News when published, as the digest after each call judged it.
    news = [note for note in notes if digests.is_news(note, _published_at(note))]
    return sorted(news, key=lambda note: (_when(note), note.id))


def _published_at(note: Note) -> dt.datetime:
    assert note.published_at is not None  # the query asked for it
    return note.published_at


def _when(note: Note) -> dt.datetime:
    """The start of the note's call, or when it was published without one."""
    return note.call.start_at if note.call is not None else _published_at(note)


# --- enqueueing ------------------------------------------------------------------------------


def due_month(settings: MailSettings, now: dt.datetime, zone: ZoneInfo) -> dt.date | None:
    """The month whose roll-up is due at `now`, if any: the previous month, once the roll-up
    is on and its day has come, unless that month had ended before it was switched on."""
    if not settings.is_rollup_on:
        return None
    today = now.astimezone(zone).date()
    if today.day < settings.rollup_day:
        return None
    month = months.previous_month(today)
    switched_on_at = settings.rollup_switched_on_at
    if switched_on_at is not None and switched_on_at >= months.bounds(month, zone)[1]:
        return None
    return month


def enqueue_due_rollup(session: Session, now: dt.datetime, zone: ZoneInfo | None = None) -> int:
    """The scheduler's job: queue the roll-up that is due, if one is; the number queued."""
    zone = zone or months.site_zone()
    month = due_month(services.mail_settings(session), now, zone)
    return 0 if month is None else enqueue_rollup(session, month, zone, now)


def enqueue_rollup(session: Session, month: dt.date, zone: ZoneInfo, now: dt.datetime) -> int:
    """Queue the month's roll-up for each monthly subscriber it holds something for, who
    confirmed before the month ended; the number newly queued."""
    notes = month_notes(session, month, zone)
    if not notes:
        return 0
    end_at = months.bounds(month, zone)[1]
    conditions = [
        Subscriber.digest_frequency == DigestFrequency.MONTHLY.value,
        sa.or_(Subscriber.confirmed_at.is_(None), Subscriber.confirmed_at < end_at),
    ]

    def holds_something(tree: RegionTree, chosen: Chosen) -> bool:
        return not select_rollup(month, notes, tree, chosen).is_empty

    subject = months.month_subject(month)
    ids = digests.recipients(session, KIND, subject, conditions, holds_something)
    return outbox.enqueue(session, KIND, subject, ids, at=now)


# --- rendering -------------------------------------------------------------------------------


def _render_rollup(rollup: Rollup, language: str, sending: Sending, links: Links) -> Rendered:
    """The roll-up's mail, once per (regions, language)."""

    def context() -> dict[str, Any]:
        return {**digests.mail_context(sending, links, language), "rollup": rollup,
                "labels": _labels(rollup, sending, language)}  # fmt: skip

    return digests.render_mail("rollup", language, context)


def _labels(rollup: Rollup, sending: Sending, language: str) -> dict[str, str]:
    month = format_skeleton("yMMMM", rollup.month, locale=language)
    name = sending.name
    return {
        **digests.section_labels(rollup.global_region),
        "subject": _("%(list)s: updates of %(month)s", list=name, month=month),
        "title": _("Updates of %(month)s", month=month),
        "why": (
            _("You receive this monthly roll-up of %(list)s for every region.", list=name)
            if rollup.is_everything
            else _(
                "You receive this monthly roll-up of %(list)s for the regions you chose.",
                list=name,
            )
        ),
    }


def rollup_for(
    session: Session, month: dt.date, region_ids: Iterable[int], language: str, sending: Sending,
    links: Links, zone: ZoneInfo | None = None,
) -> Rendered | None:  # fmt: skip
    """A month's roll-up as someone with these regions would get it (for editors' previews);
    None when it would be empty."""
    notes = month_notes(session, month, zone or months.site_zone())
    tree = RegionTree.load(session)
    rollup = select_rollup(month, notes, tree, tree.chosen(region_ids))
    return None if rollup.is_empty else _render_rollup(rollup, language, sending, links)


@outbox.renderer(KIND)
def render_rollups(
    session: Session, subject: str, subscribers: Sequence[Subscriber], sending: Sending
) -> dict[int, Mail]:
    """A Mail for each subscriber the month holds something for."""
    month = months.parse_month(subject)
    notes = month_notes(session, month, months.site_zone()) if month is not None else []
    if month is None or not notes:
        return {}
    tree = RegionTree.load(session)

    def render(chosen: Chosen, language: str) -> Rendered | None:
        rollup = select_rollup(month, notes, tree, chosen)
        empty = rollup.is_empty
        return None if empty else _render_rollup(rollup, language, sending, digests.PLACEHOLDERS)

    version = (KIND, month, tuple(map(digests.content_key, notes)), tree.fingerprint, sending)
    return digests.render_each(subscribers, tree, version, sending, render)
