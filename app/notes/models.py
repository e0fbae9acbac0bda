"""Notes, their revisions, and the updates they are split into, tagged by region and speaker."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, orm_insert_sentinel, relationship

from app.db import Base, utcnow
from app.taxonomy.models import Person, Region

if TYPE_CHECKING:
    from app.auth.models import User
    from app.calls.models import Call


class NoteStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Note(Base):
    """A call's notes (or standalone notes): Markdown source, sanitized HTML rendered on write."""

    __tablename__ = "notes"
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'published')", name="status_known"),
        sa.Index("ix_notes_status_published_at", "status", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default=NoteStatus.DRAFT.value)
    published_at: Mapped[dt.datetime | None]
    language: Mapped[str] = mapped_column(sa.String(16), default="en")
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    recording_url: Mapped[str] = mapped_column(sa.String(500), default="")
    # Editors' corrections of automatic tags, by update anchor:
    # {"asia": {"regions": {"add": [...], "remove": [...]}, "speakers": {...}}}
    tag_overrides: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    revision: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    call: Mapped[Call | None] = relationship("Call")
    author: Mapped[User | None] = relationship("User")
    updates: Mapped[list[Update]] = relationship(
        back_populates="note", cascade="all, delete-orphan", order_by="Update.position"
    )
    revisions: Mapped[list[NoteRevision]] = relationship(
        back_populates="note", cascade="all, delete-orphan", order_by="NoteRevision.number"
    )

    @property
    def is_published(self) -> bool:
        return self.status == NoteStatus.PUBLISHED

    def __repr__(self) -> str:
        return f"<Note {self.id} {self.slug} {self.status} r{self.revision}>"


class NoteRevision(Base):
    """A note as it was after one change."""

    __tablename__ = "note_revisions"
    __table_args__ = (sa.UniqueConstraint("note_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("notes.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    fields: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    note: Mapped[Note] = relationship(back_populates="revisions")
    author: Mapped[User | None] = relationship("User")

    def __repr__(self) -> str:
        return f"<NoteRevision {self.note_id} #{self.number}>"


update_regions = sa.Table(
    "update_regions",
    Base.metadata,
    sa.Column("update_id", sa.ForeignKey("updates.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("region_id", sa.ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_update_regions_region_id", "region_id"),
)

update_speakers = sa.Table(
    "update_speakers",
    Base.metadata,
    sa.Column("update_id", sa.ForeignKey("updates.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("person_id", sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_update_speakers_person_id", "person_id"),
)


class Update(Base):
    """One section of a note (a heading, or a bullet naming a region, and what it holds)."""

    __tablename__ = "updates"
    __table_args__ = (sa.UniqueConstraint("note_id", "anchor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("notes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    anchor: Mapped[str] = mapped_column(sa.String(120))
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    text: Mapped[str] = mapped_column(sa.Text)  # plain text of title and body, for search
    # A heading that only groups the updates after it ("## Regional updates"), shown before
    # this update, the first of them; and whether this update sits under such a heading.
    group_title: Mapped[str | None] = mapped_column(sa.String(300))
    in_group: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Automatic tags before the editors' corrections (region ids): the regions the update is
    # about, the places its text mentions, and suggestions (places named in a global update).
    auto_region_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    auto_mention_ids: Mapped[list[int]] = mapped_column(
        sa.JSON, default=list, server_default=sa.text("'[]'")
    )
    suggested_region_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    auto_handles: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Of `regions` (every tag, which region pages, feeds, digests and search find), those
    # that are mentions; the others are what the update is about.
    mention_region_ids: Mapped[list[int]] = mapped_column(
        sa.JSON, default=list, server_default=sa.text("'[]'")
    )
    # Of `speakers`, those giving the update, paired with the regions it is about.
    presenter_handles: Mapped[list[str]] = mapped_column(
        sa.JSON, default=list, server_default=sa.text("'[]'")
    )
    # For the ORM alone: with it, one INSERT ... RETURNING stores all of a note's new updates
    # and still gives each its id (SQLite returns the rows of a multi-row INSERT in no promised
    # order, so without it the ORM inserts them one statement each). Nothing reads it.
    _sentinel: Mapped[int | None] = orm_insert_sentinel()

    note: Mapped[Note] = relationship(back_populates="updates")
    regions: Mapped[list[Region]] = relationship(secondary=update_regions, order_by="Region.name")
    speakers: Mapped[list[Person]] = relationship(
        secondary=update_speakers, order_by="Person.handle"
    )

    @property
    def about_regions(self) -> list[Region]:
        mentioned = set(self.mention_region_ids or ())
        return [region for region in self.regions if region.id not in mentioned]

    @property
    def mentioned_regions(self) -> list[Region]:
        mentioned = set(self.mention_region_ids or ())
        return [region for region in self.regions if region.id in mentioned]

    @property
    def presenters(self) -> list[Person]:
        handles = set(self.presenter_handles or ())
        return [person for person in self.speakers if person.handle in handles]

    def __repr__(self) -> str:
        return f"<Update {self.note_id}#{self.anchor}>"
