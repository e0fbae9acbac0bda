"""Saving notes: render, split into updates, tag them, keep revisions; and reading them back.

Saving is one unit of work: a note that fails validation changes nothing. A save that changes
nothing makes no revision; a save based on an older revision than the note's is refused with
the difference, so two editors cannot silently overwrite each other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User
from app.calls.models import Call
from app.calls.services import check_url
from app.db import utcnow
from app.taxonomy.matching import RegionMatcher, region_matcher
from app.taxonomy.models import Person, Region
from app.taxonomy.services import HANDLE, descendant_ids, find_handles, slugify

from . import render
from .models import Note, NoteRevision, NoteStatus, Update, update_regions, update_speakers
from .split import Section, lead, names_regions, split

LANGUAGES = ("en", "es", "fr", "pt", "ar", "id", "sw")
# What editors correct: the regions an update is about, the places it mentions, its speakers.
TAG_KINDS = ("regions", "mentions", "speakers")
MAX_BODY = 200_000
# A note splits into at most this many updates (calls' notes have tens): beyond it, saving is
# refused rather than storing, indexing and mailing thousands of sections.
MAX_UPDATES = 500


class NoteError(ValueError):
    """Input that cannot be saved; `field` names the field at fault."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class NoteTooLarge(NoteError):
    """Notes longer than MAX_BODY, or splitting into more than MAX_UPDATES updates."""


class NoteConflict(NoteError):
    """The note changed since the editor opened it."""

    def __init__(self, note: Note, base_revision: int, diff: str) -> None:
        super().__init__(
            f"This note was changed (revision {note.revision}) after you opened revision "
            f"{base_revision}. Your changes were not saved; compare them below.",
            "base_revision",
        )
        self.note = note
        self.diff = diff


@dataclasses.dataclass
class NoteInput:
    title: str
    body: str
    status: str = NoteStatus.DRAFT.value
    language: str = "en"
    call_id: int | None = None
    recording_url: str = ""
    slug: str = ""
    tag_overrides: dict[str, Any] | None = None  # None: keep the note's
    # When a published note was published (an import's, carried from another instance); None:
    # the note's own, or the time of the save that first publishes it.
    published_at: dt.datetime | None = None

    @classmethod
    def of(cls, note: Note, **changes: Any) -> NoteInput:
        """The note's fields as they are, but for `changes`."""
        return cls(**(_snapshot(note) | changes))


def _check(session: Session, data: NoteInput) -> NoteInput:
    title = " ".join((data.title or "").split())
    if not title or len(title) > 200:
        raise NoteError("The title must have 1 to 200 characters.", "title")
    body = (data.body or "").replace("\r\n", "\n")
    if "\x00" in body or "\x00" in (data.title or ""):
        raise NoteError("The notes may not hold a NUL character.", "body")
    if len(body) > MAX_BODY:
        raise NoteTooLarge(f"The notes must be under {MAX_BODY:,} characters.", "body")
    if data.status not in (NoteStatus.DRAFT, NoteStatus.PUBLISHED):
        raise NoteError("The status must be draft or published.", "status")
    language = (data.language or "en").strip().lower()
    if language not in LANGUAGES:
        raise NoteError(f"The language must be one of {', '.join(LANGUAGES)}.", "language")
    if data.call_id is not None and session.get(Call, data.call_id) is None:
        raise NoteError(f"There is no call {data.call_id}.", "call_id")
    slug = slugify(data.slug) if data.slug else ""
    overrides = data.tag_overrides
    if overrides is not None and not isinstance(overrides, dict):
        raise NoteError("Tag overrides must map update anchors to changes.", "tag_overrides")
    return dataclasses.replace(
        data,
        title=title,
        body=body,
        language=language,
        slug=slug,
        recording_url=_checked_url(data.recording_url),
    )


def _checked_url(url: str) -> str:
    try:
        return check_url(url, "recording_url")
    except ValueError as exc:
        raise NoteError(str(exc), "recording_url") from None


def _snapshot(note: Note) -> dict[str, Any]:
    return {
        "title": note.title,
        "body": note.body,
        "status": note.status,
        "language": note.language,
        "call_id": note.call_id,
        "recording_url": note.recording_url,
        "slug": note.slug,
        "tag_overrides": note.tag_overrides or {},
    }


def _unique_slug(session: Session, base: str, note: Note | None) -> str:
    """`base`, or `base-2`, `base-3`...: at most 80 characters, as slugify gives."""
    base = base[:80] or "note"
    slug, number = base, 2
    while True:
        owner = session.scalar(sa.select(Note.id).where(Note.slug == slug))
        if owner is None or (note is not None and owner == note.id):
            return slug
        suffix = f"-{number}"
        slug, number = f"{base[: 80 - len(suffix)]}{suffix}", number + 1


def diff_bodies(old: str, new: str, old_label: str, new_label: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_label, tofile=new_label, lineterm=""
    )
    return "\n".join(lines)


def save_note(
    session: Session,
    data: NoteInput,
    *,
    note: Note | None = None,
    author: User | None = None,
    base_revision: int | None = None,
    now: dt.datetime | None = None,
    matcher: RegionMatcher | None = None,
    tagging: Tagging | None = None,
) -> tuple[Note, bool]:
    """Create or change a note; returns (note, whether anything changed).

    A batch of saves (an import) passes one `tagging` to all of them, so that the region
    matcher, the regions and the people are loaded once; a single save builds its own.
    """
    now = now or utcnow()
    data = _check(session, data)
    if note is not None and base_revision is not None and base_revision != note.revision:
        raise NoteConflict(
            note,
            base_revision,
            diff_bodies(note.body, data.body, f"revision {note.revision} (saved)", "your version"),
        )
    with session.no_autoflush:
        slug = note.slug if note is not None and not data.slug else None
        slug = slug or _unique_slug(session, data.slug or slugify(data.title), note)
    fields = {
        "title": data.title,
        "body": data.body,
        "status": data.status,
        "language": data.language,
        "call_id": data.call_id,
        "recording_url": data.recording_url,
        "slug": slug,
    }
    if data.tag_overrides is not None:
        fields["tag_overrides"] = _clean_overrides(data.tag_overrides)
    if data.published_at is not None and data.status == NoteStatus.PUBLISHED:
        fields["published_at"] = data.published_at
    if note is None:
        note = Note(created_at=now, tag_overrides={}, revision=0)
        session.add(note)
    elif (before := _snapshot(note) | {"published_at": note.published_at}) == before | fields:
        # Left untouched: a note merely set to its own values would count as changed in the
        # session (flushed, re-indexed, its cached pages dropped) for nothing.
        return note, False
    for name, value in fields.items():
        setattr(note, name, value)
    _record(session, note, author, now, tagging or Tagging(session, matcher))
    return note, True


def _record(
    session: Session, note: Note, author: User | None, now: dt.datetime, tagging: Tagging
) -> None:
    """Render, split and tag the note as it now is, and keep a revision: one flush writes it
    all (nothing is flushed halfway, so the note is inserted once, with its HTML)."""
    if note.status == NoteStatus.PUBLISHED and note.published_at is None:
        note.published_at = now
    note.updated_at = now
    note.revision += 1
    if author is not None and note.author_id is None:
        note.author = author
    with session.no_autoflush:
        build_updates(session, note, tagging)
    note.body_html = note_html(note)
    snapshot = _snapshot(note)
    session.add(
        NoteRevision(
            note=note,
            number=note.revision,
            title=note.title,
            body=note.body,
            fields={k: v for k, v in snapshot.items() if k not in ("title", "body")},
            author=author,
            created_at=now,
        )
    )
    session.flush()


def note_html(note: Note) -> str:
    """The note's HTML: each update's heading (with its anchor) and rendered body, in order.

    Built from the updates rather than by rendering the whole text again, so that the note's
    anchors are the updates' anchors, and saving converts the Markdown once.
    """
    parts = []
    for update in note.updates:
        if update.group_title:
            anchor = escape(f"{update.anchor}-group")
            parts.append(f'<h2 id="{anchor}">{escape(update.group_title)}</h2>')
        if update.title:
            tag = "h3" if update.in_group else "h2"
            parts.append(f'<{tag} id="{escape(update.anchor)}">{escape(update.title)}</{tag}>')
        parts.append(update.body_html)
    return "\n".join(parts)


def _clean_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Keep only well-formed corrections: anchor -> {regions|speakers -> {add|remove -> [str]}}."""
    clean: dict[str, Any] = {}
    for anchor, change in overrides.items():
        if not isinstance(change, dict):
            raise NoteError(f"Tag overrides for {anchor!r} must be a mapping.", "tag_overrides")
        entry: dict[str, Any] = {}
        for kind in TAG_KINDS:
            lists = change.get(kind) or {}
            if not isinstance(lists, dict):
                raise NoteError(f"{anchor}.{kind} must have add and remove lists.", "tag_overrides")
            values = {
                op: sorted({str(v).strip().lstrip("@").lower() for v in lists.get(op) or []} - {""})
                for op in ("add", "remove")
            }
            if values["add"] or values["remove"]:
                entry[kind] = values
        if entry:
            clean[str(anchor)] = entry
    return clean


@dataclasses.dataclass
class Tagged:
    """One section of a note with its automatic tags.

    `region_ids`: the regions it is about (its title, its region bullets, the title it sits
    under); `mention_ids`: the places its text names (countries by name, demonym or city, and
    regions), which region pages, feeds, digests and search find too; `suggested_ids`: places
    named in an update about the whole coalition (the venues of global events), offered to
    editors rather than tagged. `presenters`: the speakers giving the update (named in its title
    or opening its text), paired with the regions it is about.
    """

    section: Section
    anchor: str
    region_ids: list[int]
    suggested_ids: list[int]
    handles: list[str]
    mention_ids: list[int] = dataclasses.field(default_factory=list)
    presenters: list[str] = dataclasses.field(default_factory=list)


OPENING_HANDLE = re.compile(r"^(?:[-*+]|\d{1,3}[.)])?\s*[*_]*\s*@")


def tag_sections(text: str, matcher: RegionMatcher) -> list[Tagged]:
    """Split `text` and find each section's regions (what it is about, and what it mentions)
    and speakers (@handles anywhere in it, presenters first).

    A title that names no region reports on the region of the title it sits under, and one
    that names no one has that title's speakers ("## Africa (@amina)" / "### Land campaign"),
    when that title is a region's (or only groups sub-titles).
    """
    tagged = []
    anchors: set[str] = set()
    world = matcher.special.get("world")
    for section in split(text, matcher.names, matcher.mentions):
        base = slugify(HANDLE.sub("", section.title)) if section.title else "introduction"
        anchor, number = base, 2
        while anchor in anchors:
            anchor, number = f"{base}-{number}", number + 1
        anchors.add(anchor)
        about, presenters = _title_tags(section, matcher)
        if section.is_global:
            # In a global update, a city or demonym in the title is where its event happens
            # ("Rome Conference Debrief"): a suggestion, like the places in its text.
            named = matcher.find(section.title, places=False)
            venues = [rid for rid in about if rid not in named and rid != world]
            about = [rid for rid in about if rid not in venues] or ([world] if world else [])
        else:
            venues = []
        for bullet in section.region_leads:
            found = matcher.names(bullet) or matcher.find(bullet)
            about += [rid for rid in found if rid not in about]
        if section.group == "global" and world is not None and world not in about:
            about.insert(0, world)  # "Mises à jour globales", "Global Campaign Updates"
        if not about and section.about_text:
            about = matcher.mentions(re.split(r"[.:](?:\s|$)", section.about_text)[0])[:1]
        named = [rid for rid in matcher.mentions(_sentences(section)) if rid not in about]
        # A topic in a global group whose title names a place it is about ("Kenya Court
        # Users Workshop") reports on that place, not on the whole coalition.
        is_global = about == [world] or (section.is_global and not about)
        mentions, suggested = ([], named) if is_global else (named, [])
        suggested = list(dict.fromkeys([*venues, *suggested]))
        handles = find_handles(section.body)
        if not presenters:
            opening = next((line for line in section.lines if line.strip()), "").strip()
            if OPENING_HANDLE.match(opening):
                presenters = find_handles(opening)[:1]
        handles = list(dict.fromkeys([*presenters, *find_handles(section.title), *handles]))
        tagged.append(Tagged(section, anchor, about, suggested, handles, mentions, presenters))
    return tagged


def _sentences(section: Section) -> str:
    """The text whose places an update mentions: in a section of tasks, the people leading
    its bullets ("Chad: book the interpreters") are left out."""
    if not section.is_actions:
        return section.body
    return "\n".join(ACTION_LEAD.sub("", line) for line in section.lines)


ACTION_LEAD = re.compile(r"^(\s*(?:[-*+]|\d{1,3}[.)])\s+)[*_]*[A-Z][\w'’-]*[*_]*\s*:")


def _title_tags(section: Section, matcher: RegionMatcher) -> tuple[list[int], list[str]]:
    """The regions and speakers a section's title gives it, or failing that its title's."""
    title = section.title
    regions = list(dict.fromkeys([*matcher.names(lead(title)), *matcher.find(title)]))
    handles = find_handles(title)
    parent = section.parent
    if (
        parent is not None
        and (not regions or not handles)
        and (parent.is_empty or names_regions(parent.title, matcher.names))
    ):
        parent_regions, parent_handles = _title_tags(parent, matcher)
        regions = regions or parent_regions
        handles = handles or parent_handles
    return regions, handles


class Tagging:
    """The region matcher, and the regions and people that tags point to, loaded as saving
    needs them and kept for the next save: an import loads each region and person once.

    People are created here, without a flush, on first sight of their handle. A person created
    in a savepoint that was rolled back has left the session; it is then created again.
    """

    def __init__(self, session: Session, matcher: RegionMatcher | None = None) -> None:
        self.session = session
        self._matcher = matcher
        self._regions: dict[int, Region] = {}
        self._region_slugs: dict[str, Region] = {}
        self._people: dict[str, Person] = {}
        # Texts already split, tagged and rendered (by an import's worker processes), by text.
        self.prepared: dict[str, Prepared] = {}

    @property
    def matcher(self) -> RegionMatcher:
        if self._matcher is None:
            self._matcher = region_matcher(self.session)
        return self._matcher

    def regions(self, ids: Iterable[int]) -> dict[int, Region]:
        missing = {rid for rid in ids if rid not in self._regions}
        if missing:
            self._keep(self.session.scalars(sa.select(Region).where(Region.id.in_(missing))))
        return self._regions

    def regions_by_slug(self, slugs: Iterable[str]) -> dict[str, Region]:
        missing = {slug for slug in slugs if slug not in self._region_slugs}
        if missing:
            self._keep(self.session.scalars(sa.select(Region).where(Region.slug.in_(missing))))
        return self._region_slugs

    def load_all_regions(self) -> None:
        """Load the whole region tree at once (a few hundred rows): a batch of notes names
        most of it, one region at a time."""
        self._keep(self.session.scalars(sa.select(Region)))

    def _keep(self, regions: Iterable[Region]) -> None:
        for region in regions:
            self._regions[region.id] = region
            self._region_slugs[region.slug] = region

    def people(self, handles: Iterable[str]) -> dict[str, Person]:
        """The Person for each handle (lower-cased), created on first sight."""
        session, known = self.session, self._people
        wanted = {handle.lower() for handle in handles}
        missing = {h for h in wanted if h not in known or known[h] not in session}
        if not missing:
            return known
        query = sa.select(Person).where(Person.handle.in_(missing))
        found = {person.handle: person for person in session.scalars(query)}
        for handle in sorted(missing):
            if handle not in found:
                found[handle] = Person(handle=handle)
                session.add(found[handle])
        known.update(found)
        return known


@dataclasses.dataclass
class Prepared:
    """A note's text split into tagged sections, and each section's HTML: the part of saving
    that needs no database (an import does it for many files in worker processes)."""

    tagged: list[Tagged]
    html: list[str]


def prepare(text: str, matcher: RegionMatcher) -> Prepared:
    tagged = checked_sections(text, matcher)
    return Prepared(tagged, [render.render(item.section.body) for item in tagged])


def checked_sections(text: str, matcher: RegionMatcher) -> list[Tagged]:
    """`tag_sections`, refusing notes that split into more than MAX_UPDATES updates."""
    tagged = tag_sections(text, matcher)
    if len(tagged) > MAX_UPDATES:
        raise NoteTooLarge(
            f"These notes split into {len(tagged):,} updates; notes can have at most "
            f"{MAX_UPDATES:,}. Split them into several notes.",
            "body",
        )
    return tagged


def build_updates(session: Session, note: Note, tagging: Tagging) -> None:
    """Replace the note's updates by those of its current text, keeping ids per anchor and
    applying the editors' corrections. Flushes nothing: the caller flushes once."""
    existing = {update.anchor: update for update in note.updates}
    prepared = tagging.prepared.pop(note.body, None) or prepare(note.body, tagging.matcher)
    tagged = prepared.tagged
    overrides = follow_corrections(note.tag_overrides or {}, existing, tagged)
    if overrides != (note.tag_overrides or {}):
        note.tag_overrides = overrides
    handles = {handle for t in tagged for handle in t.handles}
    for change in overrides.values():
        handles |= set(change.get("speakers", {}).get("add", []))
    people = tagging.people(handles)
    regions_by_slug = tagging.regions_by_slug(
        slug
        for change in overrides.values()
        for kind in TAG_KINDS[:2]
        for slug in change.get(kind, {}).get("add", [])
    )
    regions_by_id = tagging.regions(rid for t in tagged for rid in t.region_ids + t.mention_ids)
    kept = []
    for position, (item, html) in enumerate(zip(tagged, prepared.html, strict=True)):
        update = existing.pop(item.anchor, None)
        if update is None:
            update = Update(anchor=item.anchor)
            session.add(update)  # backrefs no longer cascade new objects into the session
        update.position = position
        update.title = item.section.title[:300]
        groups = item.section.groups
        update.group_title = groups[-1].title[:300] if groups else None
        update.in_group = item.section.in_group
        update.body = item.section.body
        update.body_html = html
        update.text = " ".join(
            filter(None, [item.section.title, render.plain_text(update.body_html)])
        )
        update.auto_region_ids = item.region_ids
        update.auto_mention_ids = item.mention_ids
        update.suggested_region_ids = item.suggested_ids
        update.auto_handles = item.handles
        change = overrides.get(item.anchor, {})

        def corrected(kind: str, ids: list[int], change: dict[str, Any] = change) -> list[Region]:
            lists = change.get(kind, {})
            found = [regions_by_id[rid] for rid in ids if rid in regions_by_id]
            found = [r for r in found if r.slug not in lists.get("remove", [])]
            found += [regions_by_slug[s] for s in lists.get("add", []) if s in regions_by_slug]
            return list(dict.fromkeys(found))

        about = corrected("regions", item.region_ids)
        mentions = [r for r in corrected("mentions", item.mention_ids) if r not in about]
        update.regions = about + mentions
        update.mention_region_ids = [region.id for region in mentions]
        speaker_change = change.get("speakers", {})
        removed = speaker_change.get("remove", [])
        chosen = [h for h in item.handles if h not in removed]
        chosen += speaker_change.get("add", [])
        update.speakers = [people[h] for h in dict.fromkeys(chosen) if h in people]
        update.presenter_handles = [h for h in item.presenters if h not in removed]
        kept.append(update)
    for update in existing.values():
        session.delete(update)
    note.updates = kept


# How alike an update's old and new text must be for the editors' corrections of the old one
# to follow it to its new anchor (difflib's ratio).
FOLLOW_SIMILARITY = 0.6


def follow_corrections(
    overrides: dict[str, Any], existing: dict[str, Update], tagged: Sequence[Tagged]
) -> dict[str, Any]:
    """The corrections keyed by the anchors of the updates they now belong to.

    An update whose title changed gets a new anchor; its corrections follow it to the new
    update whose text is most like its own (and that has no corrections of its own), so that
    retitling a section, or a re-split that names it differently, keeps them. Corrections of
    an update that is gone, with nothing like it left, stay under their anchor: they apply
    again if it comes back.
    """
    anchors = {item.anchor for item in tagged}
    moved = {anchor: change for anchor, change in overrides.items() if anchor not in anchors}
    if not moved:
        return overrides
    result = {anchor: change for anchor, change in overrides.items() if anchor in anchors}
    free = [item for item in tagged if item.anchor not in result]
    for anchor, change in moved.items():
        old = existing.get(anchor)
        best, score = None, FOLLOW_SIMILARITY
        for item in free if old is not None else ():
            matcher = difflib.SequenceMatcher(None, old.body, item.section.body, autojunk=False)
            if matcher.real_quick_ratio() >= score and matcher.quick_ratio() >= score:
                ratio = matcher.ratio()
                if ratio >= score:
                    best, score = item, ratio
        if best is None:
            result[anchor] = change
        else:
            result[best.anchor] = change
            free.remove(best)
    return result


def set_update_tags(
    session: Session,
    note: Note,
    anchor: str,
    *,
    regions: Sequence[str],
    speakers: Sequence[str],
    mentions: Sequence[str] | None = None,
    author: User | None = None,
    now: dt.datetime | None = None,
) -> Update:
    """Set an update's regions (what it is about), mentions (places its text names; None:
    unchanged) and speakers by hand; the choice is kept as a correction of the automatic tags,
    so it survives later edits of the text and re-tagging."""
    update = next((u for u in note.updates if u.anchor == anchor), None)
    if update is None:
        raise NoteError(f"This note has no update {anchor!r}.", "anchor")
    about = _regions_named(session, regions, "regions")
    if mentions is None:
        mentions = [r.slug for r in update.mentioned_regions]
    mentioned = _regions_named(session, mentions, "mentions") - about
    handles = list(dict.fromkeys(h.strip().lstrip("@").lower() for h in speakers if h.strip()))
    for handle in handles:
        if not find_handles(f"@{handle}") == [handle]:
            raise NoteError(f"{handle!r} is not a valid handle.", "speakers")
    ids = set(update.auto_region_ids or []) | set(update.auto_mention_ids or [])
    slugs = dict(session.execute(sa.select(Region.id, Region.slug).where(Region.id.in_(ids))).all())
    auto_about = {slugs[rid] for rid in update.auto_region_ids or [] if rid in slugs}
    auto_mentions = {slugs[rid] for rid in update.auto_mention_ids or [] if rid in slugs}
    auto_handles = set(update.auto_handles or [])
    overrides = dict(note.tag_overrides or {})
    overrides[anchor] = {
        "regions": {"add": sorted(about - auto_about), "remove": sorted(auto_about - about)},
        "mentions": {
            "add": sorted(mentioned - auto_mentions),
            "remove": sorted(auto_mentions - mentioned),
        },
        "speakers": {
            "add": sorted(set(handles) - auto_handles),
            "remove": sorted(auto_handles - set(handles)),
        },
    }
    data = NoteInput.of(note, tag_overrides=overrides)
    save_note(session, data, note=note, author=author, now=now)
    return next(u for u in note.updates if u.anchor == anchor)


def accept_suggestion(
    session: Session, note: Note, anchor: str, slug: str, *, author: User | None = None
) -> Update:
    """Tag an update with a place its text names that was only suggested: one click of the
    tag editor. The place becomes a mention, kept as an editor's correction."""
    update = next((u for u in note.updates if u.anchor == anchor), None)
    if update is None:
        raise NoteError(f"This note has no update {anchor!r}.", "anchor")
    return set_update_tags(
        session,
        note,
        anchor,
        regions=[r.slug for r in update.about_regions],
        mentions=[*(r.slug for r in update.mentioned_regions), slug],
        speakers=[p.handle for p in update.speakers],
        author=author,
    )


def _regions_named(session: Session, slugs: Sequence[str], field: str) -> set[str]:
    """The slugs, each checked to name a region."""
    wanted = set(dict.fromkeys(s.strip().lower() for s in slugs if s.strip()))
    found = set(session.scalars(sa.select(Region.slug).where(Region.slug.in_(wanted))))
    for slug in sorted(wanted - found):
        raise NoteError(f"There is no region {slug!r}.", field)
    return wanted


def retag_note(session: Session, note: Note, tagging: Tagging) -> list[str]:
    """Split and tag the note again as its text now reads (after the splitter or the region
    tree changed), keeping the editors' corrections; returns what changed, a line each. The
    text is unchanged, so no revision is made."""
    before = _tags_by_anchor(note)
    with session.no_autoflush:
        build_updates(session, note, tagging)
    html = note_html(note)
    if html != note.body_html:
        note.body_html = html
    session.flush()
    return describe_retagging(before, _tags_by_anchor(note))


def _tags_by_anchor(note: Note) -> dict[str, dict[str, list[str]]]:
    return {
        update.anchor: {
            "title": [update.title],
            "about": [r.slug for r in update.about_regions],
            "mentions": [r.slug for r in update.mentioned_regions],
            "speakers": [p.handle for p in update.speakers],
        }
        for update in note.updates
    }


def describe_retagging(
    before: dict[str, dict[str, list[str]]], after: dict[str, dict[str, list[str]]]
) -> list[str]:
    """ "+ asia: about asia; mentions indonesia; speakers rina" for a new update, "- intro" for
    one gone, "~ asia: about +kenya -asia" for one whose tags changed."""
    lines = []
    for anchor, tags in after.items():
        old = before.get(anchor)
        if old is None:
            parts = [
                f"{kind} {', '.join(tags[kind])}" for kind in ("about", "mentions", "speakers")
            ]
            lines.append(
                f"+ {anchor}: " + "; ".join(p for p in parts if p.split(" ", 1)[1:] != [""])
            )
            continue
        parts = []
        for kind in ("title", "about", "mentions", "speakers"):
            added = [v for v in tags[kind] if v not in old[kind]]
            removed = [v for v in old[kind] if v not in tags[kind]]
            if kind == "title" and added:
                parts.append(f"title {tags['title'][0]!r}")
            elif added or removed:
                parts.append(
                    " ".join([kind, *(f"+{v}" for v in added), *(f"-{v}" for v in removed)])
                )
        if parts:
            lines.append(f"~ {anchor}: " + "; ".join(parts))
    lines += [f"- {anchor}" for anchor in before if anchor not in after]
    return lines


def delete_note(session: Session, note: Note) -> None:
    session.delete(note)
    session.flush()


# --- reading ---------------------------------------------------------------------------------


def find_note(session: Session, slug: str) -> Note | None:
    return session.scalar(sa.select(Note).where(Note.slug == slug))


def get_note(session: Session, note_id: int) -> Note | None:
    if not 0 < note_id < 2**31:
        return None
    return session.get(Note, note_id)


def _published() -> Any:
    return Note.status == NoteStatus.PUBLISHED


def published_notes(session: Session, limit: int = 20, offset: int = 0) -> Sequence[Note]:
    """Published notes, newest first, with what the archive shows of them (each one's call and
    the series that names it, its updates' regions) loaded for all of them at once: a few
    statements for a page, however many notes it holds."""
    query = (
        sa.select(Note)
        .where(_published())
        .options(
            selectinload(Note.call).selectinload(Call.series),
            selectinload(Note.updates).selectinload(Update.regions),
        )
        .order_by(Note.published_at.desc(), Note.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return session.scalars(query).all()


def draft_notes(session: Session, limit: int = 50) -> Sequence[Note]:
    query = sa.select(Note).where(Note.status == NoteStatus.DRAFT).order_by(Note.updated_at.desc())
    return session.scalars(query.limit(limit)).all()


def regions_by_id(session: Session, ids: set[int]) -> dict[int, Region]:
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(sa.select(Region).where(Region.id.in_(ids)))}


def suggested_regions(session: Session, note: Note) -> dict[str, list[Region]]:
    """Per update anchor, the regions suggested from its text that it is not tagged with."""
    ids = {rid for update in note.updates for rid in update.suggested_region_ids or []}
    regions = regions_by_id(session, ids)
    result = {}
    for update in note.updates:
        tagged = {r.id for r in update.regions}
        result[update.anchor] = [
            regions[rid] for rid in update.suggested_region_ids or [] if rid not in tagged
        ]
    return result


def notes_for_call(session: Session, call: Call, include_drafts: bool = False) -> Sequence[Note]:
    query = sa.select(Note).where(Note.call_id == call.id).order_by(Note.id)
    if not include_drafts:
        query = query.where(_published())
    return session.scalars(query).all()


def _updates_query() -> Any:
    return (
        sa.select(Update)
        .join(Update.note)
        .where(_published())
        .options(
            selectinload(Update.regions),
            selectinload(Update.speakers),
            selectinload(Update.note).selectinload(Note.call),
        )
        .order_by(Note.published_at.desc(), Note.id.desc(), Update.position)
    )


def updates_for_region(
    session: Session, region: Region, limit: int = 30, offset: int = 0
) -> Sequence[Update]:
    """Published updates tagged with the region or any region below it, newest first."""
    ids = descendant_ids(session, region)
    tagged = sa.select(update_regions.c.update_id).where(update_regions.c.region_id.in_(ids))
    query = _updates_query().where(Update.id.in_(tagged)).limit(limit).offset(offset)
    return session.scalars(query).all()


def has_published_updates(session: Session, person: Person) -> bool:
    query = (
        sa.select(update_speakers.c.update_id)
        .join(Update, Update.id == update_speakers.c.update_id)
        .join(Note, Note.id == Update.note_id)
        .where(update_speakers.c.person_id == person.id, _published())
        .limit(1)
    )
    return session.scalar(query) is not None


def updates_for_person(
    session: Session, person: Person, limit: int = 30, offset: int = 0
) -> Sequence[Update]:
    spoke = sa.select(update_speakers.c.update_id).where(update_speakers.c.person_id == person.id)
    query = _updates_query().where(Update.id.in_(spoke)).limit(limit).offset(offset)
    return session.scalars(query).all()
