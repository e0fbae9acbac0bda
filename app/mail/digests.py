"""Digests: after a call's notes are published, each subscriber gets the updates of their regions.

Who gets one: every active subscriber who wants digests and for whom the note holds something:
an update tagged with one of their regions or a region below it (no region chosen means
everything), or a global update, which everyone gets. Nobody gets an empty digest, and a draft
or deleted note is never sent. While the monthly roll-up is on (rollup.py), those who chose it
get theirs once a month instead; while it is off, they get a digest after each call too.

When: publishing a note (a flush that makes a note published) queues its digests after the
commit succeeds, in a session of its own, so the editor's note is in subscribers' outboxes
seconds later; the scheduler's sweep (`enqueue_recent_digests`) queues again whatever that
missed (the process died, the enqueue failed, the note was published by another writer).
Enqueueing is idempotent, so the two never send twice. Not before the commit: a publish that
is rolled back must queue nothing, and a failure to queue mail must never undo a publish.

Rendering: a digest depends only on the note, the subscriber's regions and their language, so
it is rendered (templates, then CSS inlined) once per distinct (regions, language) with
placeholders for the links that are each subscriber's own, which are filled in per subscriber.
The roll-up is built from the same pieces: who gets one (`recipients`), what of a note a set of
regions sees (`select_digest`), the templates' sections, and rendering once per (regions,
language) (`render_each`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import secrets
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import css_inline
import sqlalchemy as sa
from babel.dates import format_date
from flask import has_app_context, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import event, orm
from sqlalchemy.orm import Session, selectinload

from app.calls.models import Call
from app.db import after_commit_collect, db, utcnow
from app.notes.models import Note, NoteStatus, Update
from app.taxonomy.models import Region

from . import months, outbox, services
from .message import Mail
from .models import Delivery, DigestFrequency, Subscriber, SubscriberStatus, subscriber_regions
from .outbox import Sending

log = logging.getLogger(__name__)

KIND = "digest"
GLOBAL_SLUG = "global"
# A note about a call older than this is not news (an archive imported as published): no digest.
MAX_CALL_AGE = dt.timedelta(days=31)

INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def note_subject(note_id: int) -> str:
    return f"note:{note_id}"


# --- which updates a subscriber gets ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RegionNode:
    id: int
    slug: str
    name: str
    parent_id: int | None


class RegionTree:
    """The whole region tree (a few hundred rows), loaded once per enqueue or render."""

    def __init__(self, nodes: Iterable[RegionNode]) -> None:
        self.nodes = {node.id: node for node in nodes}
        self.global_id = next((n.id for n in self.nodes.values() if n.slug == GLOBAL_SLUG), None)
        # What "everything" is grouped by: the regions just below Global, and other roots.
        self.tops = frozenset(
            n.id
            for n in self.nodes.values()
            if n.id != self.global_id and n.parent_id in (None, self.global_id)
        )
        self._lineages: dict[int, tuple[int, ...]] = {}
        # What the digests' wording depends on: the regions' names and places in the tree.
        self.fingerprint = hash(frozenset(self.nodes.values()))

    @classmethod
    def load(cls, session: Session) -> RegionTree:
        rows = session.execute(sa.select(Region.id, Region.slug, Region.name, Region.parent_id))
        return cls(RegionNode(*row) for row in rows)

    def lineage(self, region_id: int) -> tuple[int, ...]:
        """The region and those above it, from itself up."""
        if region_id not in self._lineages:
            chain, node = [], self.nodes.get(region_id)
            while node is not None and node.id not in chain:
                chain.append(node.id)
                node = self.nodes.get(node.parent_id) if node.parent_id is not None else None
            self._lineages[region_id] = tuple(chain)
        return self._lineages[region_id]

    def chosen(self, region_ids: Iterable[int]) -> Chosen:
        """A subscriber's regions without those inside another of them, or everything (none
        chosen, or Global): two subscribers with the same Chosen get the same digest."""
        ids = {rid for rid in region_ids if rid in self.nodes}
        if not ids or self.global_id in ids:
            return Chosen(self.tops, True)
        return Chosen(frozenset(r for r in ids if not set(self.lineage(r)[1:]) & ids), False)


class Chosen(NamedTuple):
    region_ids: frozenset[int]
    is_everything: bool


@dataclasses.dataclass
class Group:
    """One chosen region's updates: those tagged with it, then one subgroup per sub-region."""

    region: RegionNode | None  # None: updates that name no region (only with everything)
    updates: list[Update] = dataclasses.field(default_factory=list)
    subgroups: dict[int, tuple[RegionNode, list[Update]]] = dataclasses.field(default_factory=dict)

    def add(self, update: Update, region: RegionNode) -> None:
        if self.region is None or region.id == self.region.id:
            self.updates.append(update)
        else:
            self.subgroups.setdefault(region.id, (region, []))[1].append(update)


@dataclasses.dataclass
class Digest:
    """What one (set of regions) sees of a note: global updates first, then by region."""

    note: Note
    global_region: RegionNode | None
    global_updates: list[Update]
    groups: list[Group]
    is_everything: bool

    @property
    def is_empty(self) -> bool:
        return not self.global_updates and not self.groups


def select_digest(note: Note, tree: RegionTree, chosen: Chosen) -> Digest:
    """The note's updates for someone who chose `chosen` (see RegionTree.chosen)."""
    chosen, everything = chosen
    order = sorted(chosen, key=lambda rid: (tree.nodes[rid].name, rid))
    groups = {rid: Group(tree.nodes[rid]) for rid in order}
    unplaced = Group(None)
    global_updates = []
    for update in note.updates:
        tagged = [r.id for r in update.regions if r.id in tree.nodes]
        if tree.global_id is not None and tree.global_id in tagged:
            global_updates.append(update)
            continue
        placed = _place(tree, order, tagged)
        if placed is not None:
            chosen_id, region_id = placed
            groups[chosen_id].add(update, tree.nodes[region_id])
        elif everything and not tagged:
            unplaced.updates.append(update)
    kept = [g for g in groups.values() if g.updates or g.subgroups]
    if unplaced.updates:
        kept.append(unplaced)
    global_region = tree.nodes.get(tree.global_id) if tree.global_id is not None else None
    return Digest(note, global_region, global_updates, kept, everything)


def _place(tree: RegionTree, order: list[int], tagged: list[int]) -> tuple[int, int] | None:
    """(the first chosen region the update falls under, the tag that puts it there)."""
    for chosen_id in order:
        for region_id in tagged:
            if chosen_id in tree.lineage(region_id):
                return chosen_id, region_id
    return None


# --- enqueueing ------------------------------------------------------------------------------


def is_news(note: Note, now: dt.datetime) -> bool:
    """Published, and about a call of the last weeks (or published lately, without a call)."""
    if note.status != NoteStatus.PUBLISHED or note.published_at is None:
        return False
    when = note.call.start_at if note.call is not None else note.published_at
    return when >= now - MAX_CALL_AGE


def enqueue_note_digests(session: Session, note: Note, now: dt.datetime) -> int:
    """Queue the note's digest for each subscriber it holds something for; the number queued.

    Subscribers who confirmed after the note was published get the next one; those with a
    delivery of this digest already are not asked again (the sweep stays cheap). Nor are
    those who get the note in a monthly roll-up: while the roll-up is on, whoever chose it;
    at any time, whoever already received the roll-up of the note's month (the roll-up was
    switched off in the days after it went out, when the sweep still looks at that month)."""
    if not is_news(note, now):
        return 0
    assert note.published_at is not None  # is_news
    month = months.month_of(note.published_at, months.site_zone())
    rolled_up = sa.exists().where(
        Delivery.kind == months.ROLLUP_KIND,
        Delivery.subject == months.month_subject(month),
        Delivery.subscriber_id == Subscriber.id,
    )
    conditions = [
        sa.or_(Subscriber.confirmed_at.is_(None), Subscriber.confirmed_at <= note.published_at),
        ~rolled_up,
    ]
    if services.mail_settings(session).is_rollup_on:
        conditions.append(Subscriber.digest_frequency != DigestFrequency.MONTHLY.value)
    subject = note_subject(note.id)

    def holds_something(tree: RegionTree, chosen: Chosen) -> bool:
        return not select_digest(note, tree, chosen).is_empty

    ids = recipients(session, KIND, subject, conditions, holds_something)
    return outbox.enqueue(session, KIND, subject, ids, at=now)


def recipients(
    session: Session,
    kind: str,
    subject: str,
    conditions: Sequence[sa.ColumnElement[bool]],
    holds_something: Callable[[RegionTree, Chosen], bool],
) -> list[int]:
    """The active subscribers who want digests, meet `conditions`, have no delivery of (kind,
    subject) yet, and for whose regions the mail holds something; asked once per set of
    regions, not once per subscriber."""
    delivered = sa.exists().where(
        Delivery.kind == kind, Delivery.subject == subject, Delivery.subscriber_id == Subscriber.id
    )
    rows = session.execute(
        sa.select(Subscriber.id, subscriber_regions.c.region_id)
        .outerjoin(subscriber_regions, subscriber_regions.c.subscriber_id == Subscriber.id)
        .where(
            Subscriber.status == SubscriberStatus.ACTIVE.value,
            Subscriber.wants_digests.is_(True),
            *conditions,
            ~delivered,
        )
    )
    regions_of: dict[int, set[int]] = defaultdict(set)
    for subscriber_id, region_id in rows:
        regions_of[subscriber_id].update([region_id] if region_id is not None else [])
    if not regions_of:
        return []
    by_regions: dict[frozenset[int], list[int]] = defaultdict(list)
    for subscriber_id, region_ids in regions_of.items():
        by_regions[frozenset(region_ids)].append(subscriber_id)
    tree = RegionTree.load(session)
    return sorted(
        subscriber_id
        for region_ids, ids in by_regions.items()
        if holds_something(tree, tree.chosen(region_ids))
        for subscriber_id in ids
    )


def enqueue_recent_digests(session: Session, now: dt.datetime, days: int = 7) -> int:
    """The sweep: queue what is missing of the digests of notes published in the last `days`."""
    notes = session.scalars(
        sa.select(Note)
        .where(
            Note.status == NoteStatus.PUBLISHED.value,
            Note.published_at >= now - dt.timedelta(days=days),
        )
        .options(*note_options())
        .order_by(Note.id)
    ).all()
    return sum(enqueue_note_digests(session, note, now) for note in notes)


@event.listens_for(orm.Session, "after_flush")
def _note_published(session: Session, flush_context: Any) -> None:
    """Record notes this flush made published; their digests are queued once it committed."""
    published = set()
    for instance in (*session.new, *session.dirty):
        if not isinstance(instance, Note) or instance.status != NoteStatus.PUBLISHED:
            continue
        if instance in session.new or sa.inspect(instance).attrs.status.history.deleted:
            published.add(instance.id)
    if published:
        after_commit_collect(session, "digests.published", _enqueue_published).update(published)


def _enqueue_published(note_ids: set[int]) -> None:
    """After the commit, in a session of its own; without an app (a script), the sweep will.

    Only the notes that are news are loaded: an imported archive costs one query."""
    if not has_app_context():
        return
    session = db.sessionmaker()
    try:
        now = utcnow()
        news = _news(session, note_ids, now) if _anyone_wants_digests(session) else []
        for start in range(0, len(news), 100):
            notes = session.scalars(
                sa.select(Note)
                .where(Note.id.in_(news[start : start + 100]))
                .options(*note_options())
                .order_by(Note.id)
            )
            for note in notes:
                enqueue_note_digests(session, note, now)
        session.commit()
    finally:
        session.close()


def _anyone_wants_digests(session: Session) -> bool:
    return session.scalar(
        sa.select(
            sa.exists().where(
                Subscriber.status == SubscriberStatus.ACTIVE.value,
                Subscriber.wants_digests.is_(True),
            )
        )
    )


def _news(session: Session, note_ids: Iterable[int], now: dt.datetime) -> list[int]:
    """Which of these notes may be news (see `is_news`, which decides for each)."""
    since = now - MAX_CALL_AGE
    ids = sorted(note_ids)
    found: list[int] = []
    for start in range(0, len(ids), 500):
        found += session.scalars(
            sa.select(Note.id)
            .outerjoin(Note.call)
            .where(
                Note.id.in_(ids[start : start + 500]),
                Note.status == NoteStatus.PUBLISHED.value,
                sa.func.coalesce(Call.start_at, Note.published_at) >= since,
            )
            .order_by(Note.id)
        )
    return found


# --- rendering -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclasses.dataclass(frozen=True)
class Links:
    """The links that are each subscriber's own (or placeholders standing for them)."""

    manage_url: str
    unsubscribe_url: str


def note_options() -> list[Any]:
    return [
        selectinload(Note.updates).selectinload(Update.regions),
        selectinload(Note.updates).selectinload(Update.speakers),
        selectinload(Note.call),
    ]


def load_note(session: Session, note_id: int) -> Note | None:
    return session.scalar(sa.select(Note).where(Note.id == note_id).options(*note_options()))


def call_date(note: Note) -> dt.date | None:
    """The date of the note's call where it took place, else the day it was published."""
    if note.call is not None:
        return note.call.start_at.astimezone(ZoneInfo(note.call.timezone)).date()
    return note.published_at.date() if note.published_at is not None else None


def date_text(note: Note, language: str) -> str:
    """The note's date (see call_date) in words of `language`."""
    date = call_date(note)
    return format_date(date, "long", locale=language) if date else ""


def render_mail(folder: str, language: str, context: Callable[[], dict[str, Any]]) -> Rendered:
    """The subject, text and HTML (CSS inlined) of templates/mail/<folder>/, in `language`
    (`context` is built in it): the costly part, done once per (regions, language)."""
    with force_locale(language):
        values = context()
        subject = render_template(f"mail/{folder}/subject.txt", **values).strip()
        text = render_template(f"mail/{folder}/body.txt", **values, subject=subject)
        html = render_template(f"mail/{folder}/body.html", **values, subject=subject)
    return Rendered(" ".join(subject.split()), text, INLINER.inline(html))


def mail_context(sending: Sending, links: Links, language: str) -> dict[str, Any]:
    """What the templates of digests and roll-ups share: links and the reader's language."""
    base = sending.base_url
    return {
        "sending": sending,
        "links": links,
        "language": language,
        "note_url": lambda note: f"{base}/notes/{note.slug}",
        "update_url": lambda note, update: f"{base}/notes/{note.slug}#{update.anchor}",
        "date_text": lambda note: date_text(note, language),
    }


def _render_digest(digest: Digest, language: str, sending: Sending, links: Links) -> Rendered:
    """The digest's mail, once per (regions, language)."""

    def context() -> dict[str, Any]:
        labels = _labels(digest, sending, date_text(digest.note, language))
        return {**mail_context(sending, links, language), "digest": digest, "note": digest.note,
                "labels": labels}  # fmt: skip

    return render_mail("digest", language, context)


def section_labels(global_region: RegionNode | None) -> dict[str, str]:
    """The words of a note's sections and of the footer's links, translated here so that both
    parts say the same."""
    return {
        "read_online": _("Read the whole notes online"),
        "global": global_region.name if global_region else _("Global"),
        "other": _("Other updates"),
        "untitled": _("Introduction"),  # the text before a note's first heading
        "speakers": _("Speakers"),
        "open": _("Open this update"),
        "manage": _("Change what you receive"),
        "unsubscribe": _("Unsubscribe"),
    }


def _labels(digest: Digest, sending: Sending, date_text: str) -> dict[str, str]:
    title, name = digest.note.title, sending.name
    return {
        **section_labels(digest.global_region),
        "subject": (
            _("%(title)s (%(date)s): updates", title=title, date=date_text)
            if date_text
            else _("%(title)s: updates", title=title)
        ),
        "call_on": _("Call of %(date)s", date=date_text) if date_text else "",
        "why": (
            _("You receive this digest of %(list)s for every region.", list=name)
            if digest.is_everything
            else _("You receive this digest of %(list)s for the regions you chose.", list=name)
        ),
    }


def digest_for(
    session: Session, note: Note, region_ids: Iterable[int], language: str, sending: Sending,
    links: Links,
) -> Rendered | None:  # fmt: skip
    """A digest as someone with these regions would get it (for editors' previews); None when
    it would be empty."""
    tree = RegionTree.load(session)
    digest = select_digest(note, tree, tree.chosen(region_ids))
    return None if digest.is_empty else _render_digest(digest, language, sending, links)


@outbox.renderer(KIND)
def render_digests(
    session: Session, subject: str, subscribers: Sequence[Subscriber], sending: Sending
) -> dict[int, Mail]:
    """A Mail for each subscriber the note holds something for."""
    kind, _sep, number = subject.partition(":")
    note = load_note(session, int(number)) if kind == "note" and number.isdigit() else None
    if note is None or not note.is_published:
        return {}
    tree = RegionTree.load(session)

    def render(chosen: Chosen, language: str) -> Rendered | None:
        digest = select_digest(note, tree, chosen)
        empty = digest.is_empty
        return None if empty else _render_digest(digest, language, sending, PLACEHOLDERS)

    version = (KIND, content_key(note), tree.fingerprint, sending)
    return render_each(subscribers, tree, version, sending, render)


def render_each(
    subscribers: Sequence[Subscriber],
    tree: RegionTree,
    version: Hashable,
    sending: Sending,
    render: Callable[[Chosen, str], Rendered | None],
) -> dict[int, Mail]:
    """A Mail for each subscriber who wants digests and whose regions get something: `render`
    (chosen regions, language), with placeholders for the links, runs once per distinct pair
    and `version` of the content; each subscriber's own links are filled in last."""
    mails = {}
    for subscriber in subscribers:
        if not subscriber.wants_digests:
            continue
        chosen = tree.chosen(region.id for region in subscriber.regions)
        key = (version, chosen, subscriber.language)
        result = RENDERED.get_or_render(key, functools.partial(render, chosen, subscriber.language))
        if result is not None:
            mails[subscriber.id] = _personal(result, PLACEHOLDERS, _links(subscriber, sending))
    return mails


def content_key(note: Note) -> int:
    """Everything of the note a digest shows: a rendered digest is reused while it is equal."""
    return hash(
        (
            note.id,
            note.slug,
            note.title,
            call_date(note),
            tuple(
                (
                    update.anchor,
                    update.title,
                    update.body_html,
                    tuple(region.id for region in update.regions),
                    tuple((person.handle, person.display_name) for person in update.speakers),
                )
                for update in note.updates
            ),
        )
    )


class RenderedDigests:
    """Digests already rendered in this process, by note version, regions and language: a
    note's digests go out over many batches, each rendered once. The least recently used
    entries go first."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self.entries: OrderedDict[Any, Rendered | None] = OrderedDict()
        self.lock = threading.Lock()

    def get_or_render(self, key: Any, render: Callable[[], Rendered | None]) -> Rendered | None:
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
        value = render()  # outside the lock: two threads may both render, harmlessly
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value


RENDERED = RenderedDigests()
# Stand-ins for each subscriber's own links in a rendered digest; random per process, so that
# no note's text can contain them.
_NONCE = secrets.token_hex(8)
PLACEHOLDERS = Links(f"manage-{_NONCE}", f"unsubscribe-{_NONCE}")


def _links(subscriber: Subscriber, sending: Sending) -> Links:
    return Links(
        f"{sending.base_url}/email/manage/{services.manage_token(subscriber)}",
        f"{sending.base_url}/u/{services.unsubscribe_token(subscriber)}",
    )


def _personal(rendered: Rendered, placeholders: Links, links: Links) -> Mail:
    text, html = rendered.text, rendered.html
    for placeholder, url in (
        (placeholders.manage_url, links.manage_url),
        (placeholders.unsubscribe_url, links.unsubscribe_url),
    ):
        text = text.replace(placeholder, url)
        html = html.replace(placeholder, str(escape(url)))
    return Mail(rendered.subject, text, html, unsubscribe_url=links.unsubscribe_url)
