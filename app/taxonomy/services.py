"""Looking regions up and walking their tree."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import Region


def find_region(session: Session, slug: str) -> Region | None:
    return session.scalar(sa.select(Region).where(Region.slug == slug.strip().lower()))


def descendant_ids(session: Session, region: Region) -> set[int]:
    """The ids of `region` and every region below it."""
    tree = sa.select(Region.id).where(Region.id == region.id).cte(recursive=True)
    tree = tree.union_all(sa.select(Region.id).where(Region.parent_id == tree.c.id))
    return set(session.scalars(sa.select(tree.c.id)))


def list_regions(session: Session) -> list[Region]:
    return list(session.scalars(sa.select(Region).order_by(Region.name)))


def ensure_region(session: Session, slug: str, name: str, parent: Region | None = None) -> Region:
    """The region with `slug`, created if missing."""
    region = find_region(session, slug)
    if region is None:
        region = Region(slug=slug, name=name, parent=parent)
        session.add(region)
        session.flush()
    return region
