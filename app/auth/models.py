"""Campaign-team accounts."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Role(enum.StrEnum):
    """What a team member may do: editors post notes and edit calls; admins also manage the team."""

    ADMIN = "admin"
    EDITOR = "editor"


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("role IN ('admin', 'editor')", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(20), default=Role.EDITOR.value)
    is_active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}{'' if self.is_active else ' inactive'}>"
