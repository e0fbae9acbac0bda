"""The scheduler processes' heartbeats: which process leads, and when each last answered."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class SchedulerHeartbeat(Base):
    __tablename__ = "scheduler_heartbeats"

    process: Mapped[str] = mapped_column(sa.String(80), primary_key=True)  # host:pid
    role: Mapped[str] = mapped_column(sa.String(20))  # leader | standby
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    beat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_job: Mapped[str] = mapped_column(sa.String(80), default="")
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")

    def __repr__(self) -> str:
        return f"<SchedulerHeartbeat {self.process} {self.role}>"
