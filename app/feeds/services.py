"""What goes into each feed: series and calls (calendar feeds), notes and updates (Atom feeds),
read from the database as plain feed data.

A calendar feed holds the past `HISTORY_MONTHS` months and the future: every series whose calls
reach into that window (as a master VEVENT from its first call, so subscribers keep its
history), the exceptions to it within the window (overrides and EXDATEs), and the window's extra
calls. The window starts on the first day of a month, so the bytes change at most once a month
by themselves; `Built.valid_until` says when. An Atom feed holds the newest `ATOM_ENTRIES`
published notes or updates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session, selectinload

from app.calls.display import announcement, rule_summary
from app.calls.models import Call, Series
from app.calls.recurrence import parse_rule, to_instant
from app.calls.services import series_lineage
from app.notes.models import Note, NoteStatus, Update, update_regions, update_speakers
from app.taxonomy.models import Person, Region
from app.taxonomy.services import descendant_ids

from .atom import AtomFeed, Category, Entry
from .ics import Feed, Master, Occurrence

HISTORY_MONTHS = 12
LOCALE = "en"  # feeds are shared by every subscriber: one language, the site's default


@dataclasses.dataclass(frozen=True)
class Links:
    """Absolute URLs and UIDs; from the configured BASE_URL so every request gets the same bytes."""

    host: str
    call: Callable[[int], str]
    series: Callable[[str], str]
    note: Callable[[str], str]

    def series_uid(self, series: Series) -> str:
        return f"series-{series.id}@{self.host}"

    def call_uid(self, call: Call) -> str:
        return f"call-{call.id}@{self.host}"


@dataclasses.dataclass(frozen=True)
class Built:
    feed: Feed
    last_modified: dt.datetime  # the latest change of anything in the feed
    valid_until: dt.datetime  # when the window moves on


def window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The feed's start (the first of the month, HISTORY_MONTHS ago) and when it next moves."""
    month = dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)
    return month - relativedelta(months=HISTORY_MONTHS), month + relativedelta(months=1)


def _is_public(call: Call) -> bool:
    return call.is_public and (call.series is None or call.series.is_public)


def _local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(zone))


def _original_local(call: Call, series: Series) -> dt.datetime:
    """The slot's nominal wall-clock start, as a client expanding the RRULE computes it (a stored
    instant in a spring-forward gap was moved an hour on; the nominal time was not)."""
    local = call.original_start_at.astimezone(ZoneInfo(series.timezone))  # type: ignore[union-attr]
    return dt.datetime.combine(local.date(), series.start_time, tzinfo=ZoneInfo(series.timezone))


class _Builder:
    def __init__(self, session: Session, links: Links, now: dt.datetime) -> None:
        self.session = session
        self.links = links
        self.start, self.valid_until = window(now)
        self.stamps: list[dt.datetime] = []
        self.notes: dict[int, list[Note]] = {}

    def _load_notes(self, calls: Iterable[Call]) -> None:
        ids = [call.id for call in calls]
        self.notes = defaultdict(list)
        if not ids:
            return
        query = (
            sa.select(Note)
            .where(Note.call_id.in_(ids), Note.status == NoteStatus.PUBLISHED.value)
            .order_by(Note.id)
        )
        for note in self.session.scalars(query):
            self.notes[note.call_id].append(note)  # type: ignore[index]
            self.stamps.append(note.updated_at)

    def _call_description(self, call: Call) -> str:
        lines = [announcement(call.start_at, call.timezone, call.cities, LOCALE)]
        if call.is_cancelled:
            lines.append(
                "This call is cancelled." + (f" {call.cancel_reason}" if call.cancel_reason else "")
            )
        if call.effective_join_url and not call.is_cancelled:
            lines.append(f"Join: {call.effective_join_url}")
        if call.effective_registration_url:
            lines.append(f"Register: {call.effective_registration_url}")
        lines.append(f"Call page: {self.links.call(call.id)}")
        lines += [f"Notes: {self.links.note(note.slug)}" for note in self.notes.get(call.id, [])]
        if call.agenda:
            lines += ["", call.agenda]
        return "\n".join(lines)

    def _occurrence(self, call: Call, uid: str, recurrence_id: dt.datetime | None) -> Occurrence:
        self.stamps.append(call.updated_at)
        sequence = call.sequence + (call.series.sequence if call.series else 0)
        return Occurrence(
            uid=uid,
            title=call.display_title,
            start=_local(call.start_at, call.timezone),
            end=_local(call.end_at, call.timezone),
            stamp=call.updated_at,
            sequence=sequence,
            description=self._call_description(call),
            url=self.links.call(call.id),
            is_cancelled=call.is_cancelled,
            recurrence_id=recurrence_id,
        )

    def _rrule(self, series: Series) -> str | None:
        """The series' rule with UNTIL as a UTC instant (RFC 5545 wants UTC when DTSTART has a
        TZID); None when the series has no call left to show."""
        rule = parse_rule(series.rrule)
        if series.ends_on is None and rule.until is None:
            return str(rule)
        timing = series.timing
        last = None
        for last in timing.local_starts():  # noqa: B007 - the loop finds the last start
            pass
        if last is None or to_instant(last, timing.zone) < self.start:
            return None
        until = to_instant(last, timing.zone).strftime("%Y%m%dT%H%M%SZ")
        return f"{rule.with_until(None)};UNTIL={until}"

    def _master_description(self, series: Series, reference: Call | None) -> str:
        lines = [series.description] if series.description else []
        lines.append(
            rule_summary(
                parse_rule(series.rrule),
                series.start_time,
                series.timezone,
                LOCALE,
                series.first_date,
            )
            + "."
        )
        if reference is not None:
            lines.append(
                announcement(reference.start_at, series.timezone, series.display_cities, LOCALE)
            )
        if series.join_url:
            lines.append(f"Join: {series.join_url}")
        if series.registration_url:
            lines.append(f"Register: {series.registration_url}")
        lines.append(f"Series page: {self.links.series(series.slug)}")
        return "\n".join(lines)

    def master(
        self, series: Series, calls: Sequence[Call], month_start: dt.datetime
    ) -> Master | None:
        rrule = self._rrule(series)
        if rrule is None:
            return None
        self.stamps.append(series.updated_at)
        zone = ZoneInfo(series.timezone)
        start = dt.datetime.combine(series.first_date, series.start_time, tzinfo=zone)
        exdates, overrides = [], []
        for call in calls:
            if call.is_extra:
                continue
            original = _original_local(call, series)
            if not _is_public(call):
                exdates.append(original)
            elif call.is_override or self.notes.get(call.id):
                overrides.append(self._occurrence(call, self.links.series_uid(series), original))
        upcoming = [c for c in calls if not c.is_extra and c.start_at >= month_start]
        reference = upcoming[0] if upcoming else (calls[-1] if calls else None)
        return Master(
            uid=self.links.series_uid(series),
            title=series.title,
            start=start,
            end=start + dt.timedelta(minutes=series.duration_minutes),
            rrule=rrule,
            stamp=series.updated_at,
            sequence=series.sequence,
            description=self._master_description(series, reference),
            url=self.links.series(series.slug),
            exdates=tuple(exdates),
            overrides=tuple(overrides),
        )

    def build(
        self,
        name: str,
        description: str,
        series_filter: sa.ColumnElement[bool] | None,
        extra_filter: sa.ColumnElement[bool] | None,
        now: dt.datetime,
    ) -> Built:
        series_query = sa.select(Series).where(
            Series.is_public,
            sa.or_(Series.ends_on.is_(None), Series.ends_on >= self.start.date()),
        )
        if series_filter is not None:
            series_query = series_query.where(series_filter)
        all_series = list(self.session.scalars(series_query.order_by(Series.id)))
        ids = [series.id for series in all_series]
        in_window = sa.or_(Call.start_at >= self.start, Call.original_start_at >= self.start)
        calls_query = (
            sa.select(Call)
            .options(selectinload(Call.series))
            .where(in_window)
            .order_by(Call.start_at, Call.id)
        )
        series_calls = (
            list(self.session.scalars(calls_query.where(Call.series_id.in_(ids)))) if ids else []
        )
        extra_query = (
            calls_query.where(Call.original_start_at.is_(None), Call.is_public)
            .outerjoin(Series, Call.series_id == Series.id)
            .where(sa.or_(Call.series_id.is_(None), Series.is_public))
        )
        if extra_filter is not None:
            extra_query = extra_query.where(extra_filter)
        extras = list(self.session.scalars(extra_query))
        self._load_notes([*series_calls, *extras])
        by_series: dict[int, list[Call]] = defaultdict(list)
        for call in series_calls:
            by_series[call.series_id].append(call)  # type: ignore[index]
        month_start = dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)
        masters = [self.master(series, by_series[series.id], month_start) for series in all_series]
        singles = [self._occurrence(call, self.links.call_uid(call), None) for call in extras]
        return self._built(name, description, [m for m in masters if m], singles)

    def _built(
        self, name: str, description: str, masters: list[Master], singles: list[Occurrence]
    ) -> Built:
        feed = Feed(
            name=name, description=description, masters=tuple(masters), singles=tuple(singles)
        )
        last = max(self.stamps, default=self.start)
        return Built(feed, last, self.valid_until)


def calendar_feed(session: Session, links: Links, now: dt.datetime, coalition: str) -> Built:
    """Every public series and extra call."""
    return _Builder(session, links, now).build(
        coalition, f"All calls of {coalition}.", None, None, now
    )


def series_feed(session: Session, series: Series, links: Links, now: dt.datetime) -> Built:
    """A series with the series it continues and those that continue it: one subscription
    follows the series through changes of day or time."""
    lineage = series_lineage(series)
    following = lineage[-1].next
    while following is not None:
        lineage.append(following)
        following = following.next
    ids = [item.id for item in lineage]
    return _Builder(session, links, now).build(
        series.title, series.description, Series.id.in_(ids), Call.series_id.in_(ids), now
    )


def region_feed(
    session: Session, region: Region, links: Links, now: dt.datetime, coalition: str
) -> Built:
    """Series and extra calls of the region and every region below it, and coalition-wide ones
    (no region): those are for every member, whatever their region."""
    ids = descendant_ids(session, region)
    series_filter = sa.or_(Series.region_id.in_(ids), Series.region_id.is_(None))
    extra_filter = sa.or_(
        sa.and_(Call.series_id.is_not(None), series_filter),
        sa.and_(
            Call.series_id.is_(None), sa.or_(Call.region_id.in_(ids), Call.region_id.is_(None))
        ),
    )
    return _Builder(session, links, now).build(
        f"{coalition}: {region.name}",
        f"Calls of {coalition} for {region.name}, and calls for the whole coalition.",
        series_filter,
        extra_filter,
        now,
    )


def call_feed(session: Session, call: Call, links: Links, now: dt.datetime) -> Built:
    """One call as its own event, for "add to my calendar" (not tied to any subscription)."""
    builder = _Builder(session, links, now)
    builder._load_notes([call])
    single = builder._occurrence(call, links.call_uid(call), None)
    return builder._built(call.display_title, "", [], [single])


def public_call(session: Session, call_id: int) -> Call | None:
    from app.calls.services import get_call

    call = get_call(session, call_id)
    return call if call is not None and _is_public(call) else None


def public_series(session: Session, slug: str) -> Series | None:
    series = session.scalar(sa.select(Series).where(Series.slug == slug.strip().lower()))
    return series if series is not None and series.is_public else None


# Atom feeds of published notes ------------------------------------------------------------------

ATOM_ENTRIES = 50  # the newest notes or updates; readers keep what they fetched before
EMPTY_FEED_UPDATED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # fixed, so an empty feed's bytes are


@dataclasses.dataclass(frozen=True)
class AtomLinks:
    """Absolute URLs from BASE_URL; ids are tag: URIs (RFC 4151) of the host and the note's
    creation day, so they survive a change of the note's title or slug."""

    host: str
    note: Callable[[str], str]  # slug -> the note's page
    self_url: str
    page_url: str

    def tag(self, note: Note, *path: object) -> str:
        day = note.created_at.astimezone(dt.UTC).date().isoformat()
        return f"tag:{self.host},{day}:" + "/".join(["notes", str(note.id), *map(str, path)])


@dataclasses.dataclass(frozen=True)
class BuiltAtom:
    feed: AtomFeed
    last_modified: dt.datetime


def _atom(
    title: str, subtitle: str, author: str, links: AtomLinks, entries: list[Entry]
) -> BuiltAtom:
    updated = max((entry.updated for entry in entries), default=EMPTY_FEED_UPDATED)
    feed = AtomFeed(
        id=links.self_url,
        title=title,
        subtitle=subtitle,
        self_url=links.self_url,
        page_url=links.page_url,
        author=author,
        updated=updated,
        entries=tuple(entries),
    )
    return BuiltAtom(feed, updated)


def _published_updates() -> sa.Select[tuple[Update]]:
    return (
        sa.select(Update)
        .join(Update.note)
        .where(Note.status == NoteStatus.PUBLISHED.value)
        .options(selectinload(Update.regions), selectinload(Update.note))
        .order_by(Note.published_at.desc().nulls_last(), Note.id.desc(), Update.position)
        .limit(ATOM_ENTRIES)
    )


def _update_entry(update: Update, links: AtomLinks) -> Entry:
    note = update.note
    return Entry(
        id=links.tag(note, "updates", update.id),
        title=update.title or note.title,
        url=f"{links.note(note.slug)}#{update.anchor}",
        updated=note.updated_at,
        published=note.published_at,
        html=update.body_html,
        language=note.language,
        categories=tuple(Category(region.slug, region.name) for region in update.regions),
    )


def notes_atom(session: Session, links: AtomLinks, coalition: str) -> BuiltAtom:
    """The newest published notes, one entry per note with the whole note's HTML (its updates'
    headings carry their anchors)."""
    query = (
        sa.select(Note)
        .where(Note.status == NoteStatus.PUBLISHED.value)
        .order_by(Note.published_at.desc().nulls_last(), Note.id.desc())
        .limit(ATOM_ENTRIES)
    )
    entries = [
        Entry(
            id=links.tag(note),
            title=note.title,
            url=links.note(note.slug),
            updated=note.updated_at,
            published=note.published_at,
            html=note.body_html,
            language=note.language,
        )
        for note in session.scalars(query)
    ]
    subtitle = f"Notes of the calls of {coalition}."
    return _atom(f"{coalition}: notes", subtitle, coalition, links, entries)


def region_atom(session: Session, region: Region, links: AtomLinks, coalition: str) -> BuiltAtom:
    """The newest published updates tagged with the region or a region below it."""
    ids = descendant_ids(session, region)
    tagged = sa.select(update_regions.c.update_id).where(update_regions.c.region_id.in_(ids))
    updates = session.scalars(_published_updates().where(Update.id.in_(tagged)))
    entries = [_update_entry(update, links) for update in updates]
    return _atom(
        f"{coalition}: {region.name}",
        f"Updates from {region.name} in the notes of {coalition}.",
        coalition,
        links,
        entries,
    )


def updates_atom(
    session: Session,
    update_ids: Sequence[int],
    links: AtomLinks,
    coalition: str,
    title: str,
    subtitle: str,
) -> BuiltAtom:
    """The published updates among `update_ids`, in that order (a search's newest matches)."""
    query = (
        sa.select(Update)
        .join(Update.note)
        .where(Update.id.in_(update_ids), Note.status == NoteStatus.PUBLISHED.value)
        .options(selectinload(Update.regions), selectinload(Update.note))
    )
    found = {update.id: update for update in session.scalars(query)}
    entries = [_update_entry(found[id_], links) for id_ in update_ids if id_ in found]
    return _atom(f"{coalition}: {title}", subtitle, coalition, links, entries)


def person_atom(
    session: Session, person: Person, links: AtomLinks, coalition: str
) -> BuiltAtom | None:
    """The newest published updates the person spoke in; None if there is none (as the
    speaker's page, a person named only in drafts is not public)."""
    spoke = sa.select(update_speakers.c.update_id).where(update_speakers.c.person_id == person.id)
    entries = [
        _update_entry(update, links)
        for update in session.scalars(_published_updates().where(Update.id.in_(spoke)))
    ]
    if not entries:
        return None
    name = person.display_name or f"@{person.handle}"
    return _atom(
        f"{coalition}: {name}",
        f"Updates by {name} in the notes of {coalition}.",
        coalition,
        links,
        entries,
    )
