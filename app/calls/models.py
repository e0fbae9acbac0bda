"""Series of calls, the calls themselves, and the log of changes to them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.taxonomy.models import Region

from .recurrence import Timing, get_zone, parse_rule

if TYPE_CHECKING:
    from app.auth.models import User

DEFAULT_CITIES: list[dict[str, str]] = [
    {"label": "New York", "zone": "America/New_York"},
    {"label": "Brussels", "zone": "Europe/Brussels"},
    {"label": "Cairo", "zone": "Africa/Cairo"},
    {"label": "Addis Ababa", "zone": "Africa/Addis_Ababa"},
    {"label": "Jakarta", "zone": "Asia/Jakarta"},
]
DEFAULT_REMINDER_MINUTES: list[int] = [24 * 60, 30]


class CallStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Series(Base):
    """A recurring call: an RFC 5545 rule expanded on the wall clock of the series' zone.

    Changing the day, time, zone or rule closes a series (`ends_on`) and continues it under a new
    one (`previous_id`), so past calls, their notes and calendar UIDs stay where they are.
    """

    __tablename__ = "series"
    __table_args__ = (sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    timezone: Mapped[str] = mapped_column(sa.String(64))
    start_time: Mapped[dt.time] = mapped_column(sa.Time)
    duration_minutes: Mapped[int]
    rrule: Mapped[str] = mapped_column(sa.String(300))
    first_date: Mapped[dt.date] = mapped_column(sa.Date)
    ends_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    join_url: Mapped[str] = mapped_column(sa.String(500), default="")
    registration_url: Mapped[str] = mapped_column(sa.String(500), default="")
    region_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("regions.id", ondelete="SET NULL"), index=True
    )
    display_cities: Mapped[list[dict[str, str]]] = mapped_column(sa.JSON)
    reminder_minutes: Mapped[list[int]] = mapped_column(sa.JSON)
    is_public: Mapped[bool] = mapped_column(default=True)
    previous_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("series.id", ondelete="SET NULL"), unique=True
    )
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    region: Mapped[Region | None] = relationship()
    previous: Mapped[Series | None] = relationship(
        remote_side=[id], back_populates="next", foreign_keys=[previous_id]
    )
    next: Mapped[Series | None] = relationship(back_populates="previous", uselist=False)
    calls: Mapped[list[Call]] = relationship(
        back_populates="series", passive_deletes=True, order_by="Call.start_at"
    )

    @property
    def timing(self) -> Timing:
        return Timing(
            rule=parse_rule(self.rrule),
            zone=get_zone(self.timezone),
            first_date=self.first_date,
            start_time=self.start_time,
            duration=dt.timedelta(minutes=self.duration_minutes),
            ends_on=self.ends_on,
        )

    @property
    def is_ended(self) -> bool:
        return self.ends_on is not None

    def __repr__(self) -> str:
        return f"<Series {self.id} {self.slug} {self.rrule} {self.start_time} {self.timezone}>"


class Call(Base):
    """One call: an occurrence of a series (`original_start_at` is its slot) or an extra call."""

    __tablename__ = "calls"
    __table_args__ = (
        sa.UniqueConstraint("series_id", "original_start_at"),
        sa.CheckConstraint("end_at > start_at", name="ends_after_start"),
        sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name="status_known"),
        sa.Index("ix_calls_start_at_status", "start_at", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("series.id", ondelete="CASCADE"), index=True
    )
    original_start_at: Mapped[dt.datetime | None]
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]
    timezone: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(20), default=CallStatus.SCHEDULED.value)
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    title: Mapped[str | None] = mapped_column(sa.String(200))
    agenda: Mapped[str] = mapped_column(sa.Text, default="")
    join_url: Mapped[str | None] = mapped_column(sa.String(500))
    registration_url: Mapped[str | None] = mapped_column(sa.String(500))
    recording_url: Mapped[str] = mapped_column(sa.String(500), default="")
    region_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("regions.id", ondelete="SET NULL"), index=True
    )
    display_cities: Mapped[list[dict[str, str]] | None] = mapped_column(sa.JSON)
    is_public: Mapped[bool] = mapped_column(default=True)
    sequence: Mapped[int] = mapped_column(default=0)
    is_edited: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    series: Mapped[Series | None] = relationship(back_populates="calls")
    region_override: Mapped[Region | None] = relationship()
    changes: Mapped[list[CallChange]] = relationship(
        back_populates="call",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CallChange.id",
    )

    # What the call shows: its own value where set, else the series'.
    @property
    def display_title(self) -> str:
        return self.title or (self.series.title if self.series else "")

    @property
    def effective_join_url(self) -> str:
        if self.join_url is not None:
            return self.join_url
        return self.series.join_url if self.series else ""

    @property
    def effective_registration_url(self) -> str:
        if self.registration_url is not None:
            return self.registration_url
        return self.series.registration_url if self.series else ""

    @property
    def region(self) -> Region | None:
        return self.series.region if self.series else self.region_override

    @property
    def cities(self) -> list[dict[str, str]]:
        if self.display_cities:
            return self.display_cities
        return self.series.display_cities if self.series else DEFAULT_CITIES

    @property
    def is_cancelled(self) -> bool:
        return self.status == CallStatus.CANCELLED

    @property
    def is_extra(self) -> bool:
        return self.original_start_at is None

    @property
    def is_rescheduled(self) -> bool:
        return self.original_start_at is not None and self.start_at != self.original_start_at

    @property
    def is_override(self) -> bool:
        """Differs from what its series alone would say (a RECURRENCE-ID override in feeds)."""
        return not self.is_extra and (self.is_rescheduled or self.is_edited or self.is_cancelled)

    def __repr__(self) -> str:
        return f"<Call {self.id} {self.start_at.isoformat()} {self.status}>"


class CallChange(Base):
    """One entry of a call's change log, shown to editors."""

    __tablename__ = "call_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(40))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="changes")
    user: Mapped[User | None] = relationship("User")

    def __repr__(self) -> str:
        return f"<CallChange {self.call_id} {self.action}>"
