"""Static publishing: every subscription feed written to a folder that any web server or CDN can
serve, for coalitions whose subscribers would otherwise all poll the app.

Each file is written to a temporary file in its folder and renamed over the old one (a reader
sees the old bytes or the new, never half a file), and only when its bytes changed, so that the
file's modification time, and with it nginx's ETag and Last-Modified, stays put while nothing
changed. Files of feeds that no longer exist (a series made private, a region removed) are
deleted. The bodies come from the same functions and cache as the app's responses, so a published
file holds the bytes the app serves at the same URL with the default options.

With FEEDS_PUBLISH_DIR set, `Publisher` publishes again after each commit of this process that
changed the schedule or notes: in a background thread (the request that committed does not wait),
never inside a transaction, coalescing commits that arrive while it works.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.calls.models import Call, Series
from app.db import db
from app.notes.models import Note, NoteStatus, Update, update_speakers
from app.taxonomy.models import Person, Region

from . import routes

log = logging.getLogger(__name__)

SCHEDULE, NOTES = "schedule", "notes"
EXTENSIONS = {SCHEDULE: ".ics", NOTES: ".atom"}
FOLDERS = ("", "series", "regions", "people")  # where published files live, below the folder


@dataclasses.dataclass
class Report:
    written: list[str] = dataclasses.field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = dataclasses.field(default_factory=list)


def write_atomically(path: Path, data: bytes) -> bool:
    """Write `data` to `path` through a temporary file renamed over it; False if `path` already
    held these bytes."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the web server must read it
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return True


def regions_with_calls(session: Session) -> set[str]:
    """Slugs of the regions whose calendar holds a series or extra call of their own (or of a
    region below them), not only the coalition-wide ones."""
    parents: dict[int, int | None] = dict(
        session.execute(sa.select(Region.id, Region.parent_id)).all()
    )  # type: ignore[arg-type]
    slugs = dict(session.execute(sa.select(Region.id, Region.slug)).all())
    own = set(session.scalars(sa.select(Series.region_id).where(Series.is_public)))
    own |= set(session.scalars(sa.select(Call.region_id).where(Call.is_public)))
    found: set[str] = set()
    for region_id in own - {None}:
        while region_id is not None and slugs[region_id] not in found:
            found.add(slugs[region_id])
            region_id = parents[region_id]
    return found


def feeds(topics: set[str]) -> Iterator[tuple[str, Callable[[], routes.Served]]]:
    """(path below the folder, the feed's producer) for every feed of `topics`, default options.

    Left to the app (the web server passes them on, see docs/feeds.md): one-call feeds, fetched
    once rather than polled, and the calendars of regions without calls of their own, which
    hold only the coalition-wide series; there are hundreds of them, each as costly to build as
    /calendar.ics, and the app serves them from its cache.
    """
    session = db.session
    region_slugs = list(session.scalars(sa.select(Region.slug).order_by(Region.slug)))
    if SCHEDULE in topics:
        yield "calendar.ics", routes.calendar_feed
        public = sa.select(Series.slug).where(Series.is_public).order_by(Series.slug)
        for slug in session.scalars(public):
            yield f"series/{slug}.ics", lambda slug=slug: routes.series_feed(slug)
        for slug in sorted(regions_with_calls(session)):
            yield f"regions/{slug}.ics", lambda slug=slug: routes.region_feed(slug)
    if NOTES in topics:
        yield "notes.atom", routes.notes_atom
        for slug in region_slugs:
            yield f"regions/{slug}.atom", lambda slug=slug: routes.region_atom(slug)
        speakers = (
            sa.select(Person.handle)
            .join(update_speakers, update_speakers.c.person_id == Person.id)
            .join(Update, Update.id == update_speakers.c.update_id)
            .join(Note, Note.id == Update.note_id)
            .where(Note.status == NoteStatus.PUBLISHED.value)
            .distinct()
            .order_by(Person.handle)
        )
        for handle in session.scalars(speakers):
            yield f"people/{handle}.atom", lambda handle=handle: routes.person_atom(handle)


def publish(directory: Path, topics: set[str] | None = None) -> Report:
    """Write every feed of `topics` (all by default) below `directory`; needs a request context
    for URLs."""
    topics = topics or set(EXTENSIONS)
    report = Report()
    kept: set[Path] = set()
    for relative, produce in list(feeds(topics)):
        path = directory / relative
        kept.add(path)
        if write_atomically(path, produce().body):
            report.written.append(relative)
        else:
            report.unchanged += 1
    extensions = {EXTENSIONS[topic] for topic in topics}
    for folder in FOLDERS:
        for path in sorted((directory / folder).glob("*")):
            if path.suffix in extensions and path.is_file() and path not in kept:
                path.unlink()
                report.removed.append(str(path.relative_to(directory)))
    return report


def publish_app(app: Flask, directory: str | Path, topics: set[str] | None = None) -> Report:
    """`publish` in a fresh app context of its own (its own session, never the committing one)
    and a request context on BASE_URL, so that every link matches the app's responses."""
    with app.app_context(), app.test_request_context(base_url=app.config["BASE_URL"]):
        report = publish(Path(directory), topics)
    log.info(
        "published feeds to %s: %d written, %d unchanged, %d removed",
        directory,
        len(report.written),
        report.unchanged,
        len(report.removed),
    )
    return report


class Publisher:
    """Publishes again after each commit of this process that changed a feed's topic."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pending: set[str] = set()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def changed(self, topics: set[str]) -> None:
        """A page-cache listener: called after the commit, outside any transaction."""
        directory = self.app.config.get("FEEDS_PUBLISH_DIR")
        topics = topics & set(EXTENSIONS)
        if not directory or not topics:
            return
        if not self.app.config.get("FEEDS_PUBLISH_IN_BACKGROUND", True):
            publish_app(self.app, directory, topics)
            return
        with self.lock:
            self.pending |= topics
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._run, name="feeds-publisher", daemon=True
                )
                self.thread.start()
        self.wake.set()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                topics, self.pending = self.pending, set()
            try:
                publish_app(self.app, self.app.config["FEEDS_PUBLISH_DIR"], topics)
            except Exception:
                log.exception("publishing the feeds failed; the next change tries again")


def init_app(app: Flask) -> None:
    publisher = Publisher(app)
    app.extensions["convene.feeds.publisher"] = publisher
    app.extensions["convene.page_cache"].listeners.append(publisher.changed)
