"""Call reminders and cancellation notices: who gets which, when, and what they say.

`enqueue_due_reminders` runs every minute. A reminder's outbox subject names the call, its start
and the offset ("call:12:1765890000:30"), so enqueueing is idempotent and a rescheduled call gets
new reminders while the ones queued for its old start render to nothing.

Cancellation notices are queued by a session event in the transaction that cancels the call, so
a notice exists exactly when the cancellation was committed: nothing is lost while the scheduler
is down, and who was reminded or inside the reminder window is decided at the moment of the
cancellation rather than reconstructed later. (Changes that bypass the ORM, such as a bulk
UPDATE, are not seen; every cancellation goes through `calls.services.cancel_call`.)

A batch of deliveries is rendered once per (time zone, language) of its subscribers; only the
manage and unsubscribe links differ from one subscriber to the next.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import css_inline
import sqlalchemy as sa
from babel.dates import format_date, format_time
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session, selectinload

from app.calls.display import NARROW_SPACES, city_times, offset_notices, zone_city
from app.calls.models import DEFAULT_REMINDER_MINUTES, Call, CallStatus, Series
from app.calls.services import get_call
from app.db import utcnow
from app.feeds.ics import Options
from app.feeds.ics import build as build_ics
from app.feeds.services import Links, call_feed
from app.taxonomy.services import ancestors, descendant_ids

from . import outbox, services
from .message import Attachment, Mail
from .models import Delivery, DeliveryStatus, Subscriber, SubscriberStatus, subscriber_regions
from .outbox import Sending, renderer

log = logging.getLogger(__name__)

# The furthest ahead a reminder can be (calls.services.parse_reminders allows 14 days).
MAX_OFFSET = dt.timedelta(days=14)
INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


# --- who gets what ---------------------------------------------------------------------------


def reminder_subject(call: Call, offset: int) -> str:
    return f"call:{call.id}:{int(call.start_at.timestamp())}:{offset}"


def cancellation_subject(call: Call) -> str:
    return f"call:{call.id}:cancelled:{call.sequence}"


def offsets(call: Call) -> list[int]:
    """Minutes before the start at which the call's reminders go out."""
    return list(call.series.reminder_minutes) if call.series else list(DEFAULT_REMINDER_MINUTES)


def is_public(call: Call) -> bool:
    return call.is_public and (call.series is None or call.series.is_public)


def matching_region_ids(session: Session, call: Call) -> set[int] | None:
    """The regions whose subscribers hear about `call`: its region, those above and those below
    it. None for a coalition-wide call, which is for everyone."""
    region = call.region
    if region is None:
        return None
    return descendant_ids(session, region) | {above.id for above in ancestors(region)}


def audience(region_ids: set[int] | None) -> sa.Select[tuple[int]]:
    """Active subscribers who want reminders and follow the call's regions (or all regions)."""
    query = sa.select(Subscriber.id).where(
        Subscriber.status == SubscriberStatus.ACTIVE.value, Subscriber.wants_reminders.is_(True)
    )
    if region_ids is not None:
        chosen = sa.select(subscriber_regions.c.subscriber_id).where(
            subscriber_regions.c.subscriber_id == Subscriber.id
        )
        query = query.where(
            sa.or_(
                ~chosen.exists(),  # no regions chosen: everything
                chosen.where(subscriber_regions.c.region_id.in_(region_ids)).exists(),
            )
        )
    return query


def _not_queued(query: sa.Select[tuple[int]], kind: str, subject: str) -> sa.Select[tuple[int]]:
    """Leave out those who have the delivery already: after the first run of a reminder's
    window, each minute's run finds nobody through the unique index and inserts nothing."""
    queued = sa.select(Delivery.id).where(
        Delivery.kind == kind,
        Delivery.subject == subject,
        Delivery.subscriber_id == Subscriber.id,
    )
    return query.where(~queued.exists())


def due_calls(session: Session, now: dt.datetime) -> list[Call]:
    """Public scheduled calls that have not started and may have a reminder due."""
    query = (
        sa.select(Call)
        .options(
            selectinload(Call.series).selectinload(Series.region),
            selectinload(Call.region_override),
        )
        .where(
            Call.status == CallStatus.SCHEDULED.value,
            Call.is_public.is_(True),
            sa.or_(Call.series_id.is_(None), Call.series.has(Series.is_public.is_(True))),
            Call.start_at > now,
            Call.start_at <= now + MAX_OFFSET,
        )
        .order_by(Call.start_at, Call.id)
    )
    return list(session.scalars(query))


def enqueue_due_reminders(session: Session, now: dt.datetime) -> int:
    """Queue the reminders that are due at `now`; the number newly queued. Idempotent.

    Of a call's offsets whose time has come, only the latest is queued: a call added 20
    minutes before it starts, or a scheduler that was down for a day, sends one reminder, not
    the day-before and the half-hour one together.
    """
    queued = 0
    for call in due_calls(session, now):
        due = [m for m in offsets(call) if call.start_at - dt.timedelta(minutes=m) <= now]
        if not due:
            continue
        subject = reminder_subject(call, min(due))
        query = _not_queued(audience(matching_region_ids(session, call)), "reminder", subject)
        queued += outbox.enqueue(session, "reminder", subject, session.scalars(query).all())
    if queued:
        log.info("queued %d reminders", queued)
    return queued


def enqueue_cancellation_notices(session: Session, call: Call, now: dt.datetime) -> int:
    """Queue a notice of `call`'s cancellation for those who were sent a reminder of it or are
    within its largest reminder window (and would have been reminded); the number queued."""
    if not call.is_cancelled or not is_public(call) or now >= call.end_at:
        return 0
    subject = cancellation_subject(call)
    reminded = sa.select(Delivery.subscriber_id).where(
        Delivery.kind == "reminder",
        Delivery.subject.startswith(f"call:{call.id}:"),
        # "sending": it may have reached them before its sender stopped
        Delivery.status.in_([DeliveryStatus.SENT.value, DeliveryStatus.SENDING.value]),
    )
    ids = set(session.scalars(reminded))
    largest = max(offsets(call), default=0)
    if call.start_at - dt.timedelta(minutes=largest) <= now < call.start_at:
        ids |= set(session.scalars(audience(matching_region_ids(session, call))))
    return outbox.enqueue(session, "cancellation", subject, sorted(ids))


@event.listens_for(Session, "after_flush")
def _notice_cancellations(session: Session, flush_context: Any) -> None:
    """Queue the notices in the flush that writes the cancellation (same transaction).

    In after_flush the session still shows each object's pre-flush history, and queries run
    without starting another flush."""
    for obj in list(session.dirty):
        if not isinstance(obj, Call):
            continue
        history = sa.inspect(obj).attrs.status.history
        if CallStatus.CANCELLED.value in (history.added or ()):
            enqueue_cancellation_notices(session, obj, utcnow())


# --- what the messages say -------------------------------------------------------------------


def _plain(text: str) -> str:
    return text.translate(NARROW_SPACES)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _utc_offset(local: dt.datetime) -> str:
    minutes = int(local.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return "UTC" if minutes == 0 else f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@dataclasses.dataclass(frozen=True)
class LocalTime:
    """The call's start on a subscriber's clock: "Tuesday, March 10, 2026", "3:00 PM"..."""

    date: str
    short_date: str
    time: str
    place: str  # "Berlin"
    offset: str  # "UTC+1", at the call's instant

    @classmethod
    def of(cls, start: dt.datetime, zone: str, locale: str) -> LocalTime:
        local = start.astimezone(_zone(zone))
        return cls(
            date=_plain(format_date(local, "full", locale=locale)),
            short_date=_plain(format_date(local, "medium", locale=locale)),
            time=_plain(format_time(local, "short", locale=locale)),
            place=zone_city(zone, locale),
            offset=_utc_offset(local),
        )

    @property
    def sentence(self) -> str:
        return _(
            "%(date)s at %(time)s, %(place)s time (%(offset)s)",
            date=self.date,
            time=self.time,
            place=self.place,
            offset=self.offset,
        )


def _cities(call: Call, locale: str) -> tuple[list[str], list[str]]:
    """The start in each display city ("10:00 PM Jakarta (Wednesday)") and the notes on
    cities whose difference from the call's zone is unusual this week."""
    times = city_times(call.start_at, call.timezone, call.cities, locale)
    lines = []
    for city in times:
        line = f"{city.time_text} {city.label}"
        lines.append(f"{line} ({city.weekday_text})" if city.day_shift else line)
    return lines, offset_notices(times, zone_city(call.timezone, locale))


def _footer(sending: Sending) -> dict[str, str]:
    return {
        "why": _(
            "You receive this because you subscribed to call reminders from %(name)s.",
            name=sending.name,
        ),
        "manage": _("Change what you receive"),
        "unsubscribe": _("Unsubscribe"),
    }


def reminder_context(call: Call, zone: str, locale: str, sending: Sending) -> dict[str, Any]:
    """Everything a reminder says, in `locale`, with the time on `zone`'s clock."""
    when = LocalTime.of(call.start_at, zone, locale)
    cities, notices = _cities(call, locale)
    title = call.display_title
    return {
        "subject": _(
            "Reminder: %(title)s, %(date)s at %(time)s",
            title=title,
            date=when.short_date,
            time=when.time,
        ),
        "title": title,
        "when": when.sentence,
        "cities_label": _("Around the world"),
        "cities": cities,
        "notices": notices,
        "join_label": _("Join the call"),
        "join_url": call.effective_join_url,
        "register_label": _("Register"),
        "registration_url": call.effective_registration_url,
        "agenda_label": _("Agenda"),
        "agenda": call.agenda.strip(),
        "page_label": _("Call page"),
        "page_url": f"{sending.base_url}/calls/{call.id}",
        "calendar": _("The attached call.ics adds the call to your calendar."),
        **_footer(sending),
    }


def cancellation_context(call: Call, zone: str, locale: str, sending: Sending) -> dict[str, Any]:
    when = LocalTime.of(call.start_at, zone, locale)
    title = call.display_title
    return {
        "subject": _(
            "Cancelled: %(title)s, %(date)s at %(time)s",
            title=title,
            date=when.short_date,
            time=when.time,
        ),
        "title": title,
        "lead": _("This call is cancelled:"),
        "when": when.sentence,
        "reason_label": _("Reason"),
        "reason": call.cancel_reason.strip(),
        "page_label": _("Call page"),
        "page_url": f"{sending.base_url}/calls/{call.id}",
        "calendar": _("The attached call.ics marks the call cancelled in your calendar."),
        **_footer(sending),
    }


# (call, time zone, language, sending) -> the strings of one kind of message
ContextFunction = Callable[[Call, str, str, Sending], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Rendered:
    """A message for a group of subscribers, with placeholders for their own links."""

    subject: str
    text: str
    html: str
    manage: str
    unsubscribe: str

    def mail_for(
        self, subscriber: Subscriber, sending: Sending, attachments: list[Attachment]
    ) -> Mail:
        manage = f"{sending.base_url}/email/manage/{services.manage_token(subscriber)}"
        unsubscribe = f"{sending.base_url}/u/{services.unsubscribe_token(subscriber)}"

        def fill(body: str) -> str:
            return body.replace(self.manage, manage).replace(self.unsubscribe, unsubscribe)

        return Mail(
            subject=self.subject,
            text=fill(self.text),
            html=fill(self.html),
            unsubscribe_url=unsubscribe,
            attachments=attachments,
        )


def render_templates(name: str, context: dict[str, Any]) -> Rendered:
    """mail/NAME/body.txt and body.html with `context`; the links are placeholders (random, so
    no text of the call can contain them)."""
    nonce = secrets.token_hex(8)
    manage, unsubscribe = f"manage-{nonce}", f"unsubscribe-{nonce}"
    context = {**context, "manage_url": manage, "unsubscribe_url": unsubscribe}
    env = current_app.jinja_env
    text = env.get_template(f"mail/{name}/body.txt").render(context)
    html = INLINER.inline(env.get_template(f"mail/{name}/body.html").render(context))
    return Rendered(context["subject"], text, html, manage, unsubscribe)


def _links(sending: Sending) -> Links:
    base = sending.base_url
    return Links(
        host=urlsplit(base).hostname or sending.domain,
        call=lambda call_id: f"{base}/calls/{call_id}",
        series=lambda slug: f"{base}/series/{slug}",
        note=lambda slug: f"{base}/notes/{slug}",
    )


def calendar_attachment(session: Session, call: Call, sending: Sending) -> Attachment:
    """The call as its own event (the UID of its single-call feed), for "add to calendar". A
    cancelled call is kept, as STATUS:CANCELLED, so the calendar that has it updates it."""
    built = call_feed(session, call, _links(sending), utcnow())
    data = build_ics(built.feed, Options(show_cancelled=call.is_cancelled))
    # RFC 6047: the METHOD of the body matches the Content-Type's method parameter.
    data = data.replace(b"BEGIN:VCALENDAR\r\n", b"BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\n", 1)
    return Attachment("call.ics", data, "text", "calendar", {"method": "PUBLISH"})


def _render_groups(
    name: str,
    context_for: ContextFunction,
    session: Session,
    call: Call,
    subscribers: Sequence[Subscriber],
    sending: Sending,
) -> dict[int, Mail]:
    groups: dict[tuple[str, str], list[Subscriber]] = defaultdict(list)
    for subscriber in subscribers:
        groups[subscriber.timezone, subscriber.language].append(subscriber)
    if not groups:
        return {}
    attachments = [calendar_attachment(session, call, sending)]
    mails = {}
    for (zone, language), members in groups.items():
        with force_locale(language):
            rendered = render_templates(name, context_for(call, zone, language, sending))
        for subscriber in members:
            mails[subscriber.id] = rendered.mail_for(subscriber, sending, attachments)
    return mails


def _subject_call(session: Session, subject: str) -> tuple[Call | None, list[str]]:
    """The call a "call:ID:..." subject is about, and the subject's two remaining fields."""
    fields = subject.split(":")
    if len(fields) != 4 or fields[0] != "call" or not fields[1].isdigit():
        return None, []
    return get_call(session, int(fields[1])), fields[2:]


@renderer("reminder")
def render_reminders(
    session: Session, subject: str, subscribers: Sequence[Subscriber], sending: Sending
) -> dict[int, Mail]:
    """Reminders of "call:ID:START:OFFSET"; none when the call is gone, cancelled, private,
    moved to another start, or has started."""
    call, rest = _subject_call(session, subject)
    if (
        call is None
        or call.is_cancelled
        or not is_public(call)
        or rest[0] != str(int(call.start_at.timestamp()))
        or call.start_at <= utcnow()
    ):
        return {}
    # Preferences count as they are now, not as they were when the reminder was queued.
    region_ids = matching_region_ids(session, call)
    wanted = [
        s
        for s in subscribers
        if s.wants_reminders
        and (region_ids is None or not s.regions or {r.id for r in s.regions} & region_ids)
    ]
    return _render_groups("reminder", reminder_context, session, call, wanted, sending)


@renderer("cancellation")
def render_cancellations(
    session: Session, subject: str, subscribers: Sequence[Subscriber], sending: Sending
) -> dict[int, Mail]:
    """Notices of "call:ID:cancelled:SEQUENCE"; none when the call was restored (or cancelled
    again since, which has its own notice) or is no longer public."""
    call, rest = _subject_call(session, subject)
    if (
        call is None
        or not call.is_cancelled
        or not is_public(call)
        or rest != ["cancelled", str(call.sequence)]
    ):
        return {}
    return _render_groups("cancellation", cancellation_context, session, call, subscribers, sending)
