"""Regions (a tree with aliases) and people (the speakers of updates)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow


class Region(Base):
    """A node of the region tree: the world, a continent, a sub-region, a country, or a
    region of the coalition's own. Filtering by a region includes everything below it."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    code: Mapped[str | None] = mapped_column(sa.String(8), unique=True)  # M49 or ISO 3166
    kind: Mapped[str] = mapped_column(sa.String(20), default="group")  # group|country
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("regions.id", ondelete="RESTRICT"), index=True
    )

    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent", order_by="Region.name")
    aliases: Mapped[list[RegionAlias]] = relationship(
        back_populates="region", cascade="all, delete-orphan", order_by="RegionAlias.alias"
    )

    @property
    def is_country(self) -> bool:
        return self.kind == "country"

    def __repr__(self) -> str:
        return f"<Region {self.slug}>"


class RegionAlias(Base):
    """Another name for a region, used when finding regions in notes ("LatAm")."""

    __tablename__ = "region_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(
        sa.ForeignKey("regions.id", ondelete="CASCADE"), index=True
    )
    alias: Mapped[str] = mapped_column(sa.String(120))
    normalized: Mapped[str] = mapped_column(sa.String(120), unique=True)

    region: Mapped[Region] = relationship(back_populates="aliases")

    def __repr__(self) -> str:
        return f"<RegionAlias {self.alias!r} -> {self.region_id}>"


class Person(Base):
    """Someone who gives updates, known by a handle (@rina): unique, case-insensitive."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(sa.String(40), unique=True)  # stored lower-case
    display_name: Mapped[str] = mapped_column(sa.String(200), default="")
    organisation: Mapped[str] = mapped_column(sa.String(200), default="")
    home_region_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("regions.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    home_region: Mapped[Region | None] = relationship()

    @property
    def label(self) -> str:
        return self.display_name or f"@{self.handle}"

    def __repr__(self) -> str:
        return f"<Person @{self.handle}>"
