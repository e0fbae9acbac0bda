"""Regions: seeding the tree, walking it, and finding region names in text. People by handle."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from . import m49
from .models import Person, Region, RegionAlias

HANDLE = re.compile(r"(?<![\w@.])@([a-z0-9_](?:[a-z0-9_.-]{0,37}[a-z0-9_])?)", re.IGNORECASE)


class TaxonomyError(ValueError):
    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def normalize(text: str) -> str:
    """Case- and accent-insensitive form of a name: "América Latina" -> "america latina"."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(text.casefold().split())


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalize(text)).strip("-")[:80] or "region"


def find_region(session: Session, slug: str) -> Region | None:
    return session.scalar(sa.select(Region).where(Region.slug == slug.strip().lower()))


def find_region_by_slug_or_alias(session: Session, slug: str) -> Region | None:
    """The region with this slug, else the one with an alias of which it is the slug: the
    coalition renamed some M49 regions, and "eastern-africa" still means Kenya's."""
    region = find_region(session, slug)
    if region is not None:
        return region
    # A slug's hyphens stand for spaces or punctuation; slugs hold no other LIKE wildcards.
    aliases = session.scalars(
        sa.select(RegionAlias).where(RegionAlias.normalized.like(slug.replace("-", "_")))
    )
    return next((alias.region for alias in aliases if slugify(alias.normalized) == slug), None)


def descendant_ids(session: Session, region: Region) -> set[int]:
    """The ids of `region` and every region below it."""
    tree = sa.select(Region.id).where(Region.id == region.id).cte(recursive=True)
    tree = tree.union_all(sa.select(Region.id).where(Region.parent_id == tree.c.id))
    return set(session.scalars(sa.select(tree.c.id)))


def ancestors(region: Region) -> list[Region]:
    """The regions above `region`, from the top down."""
    chain = []
    parent = region.parent
    while parent is not None:
        chain.insert(0, parent)
        parent = parent.parent
    return chain


def update_person(session: Session, person: Person, display_name: str, organisation: str) -> None:
    person.display_name = " ".join(display_name.split())[:200]
    person.organisation = " ".join(organisation.split())[:200]
    session.flush()


def list_regions(session: Session) -> list[Region]:
    return list(session.scalars(sa.select(Region).order_by(Region.name)))


def region_tree(session: Session) -> list[Region]:
    """Top-level regions with their children loaded (for pickers and the admin page)."""
    regions = session.scalars(
        sa.select(Region).options(selectinload(Region.children), selectinload(Region.aliases))
    ).all()
    return sorted((r for r in regions if r.parent_id is None), key=lambda r: r.name)


def ensure_region(session: Session, slug: str, name: str, parent: Region | None = None) -> Region:
    """The region with `slug`, created if missing."""
    region = find_region(session, slug)
    if region is None:
        region = Region(slug=slug, name=name, parent=parent)
        session.add(region)
        session.flush()
    return region


def add_alias(session: Session, region: Region, alias: str) -> RegionAlias | None:
    """Add `alias` to `region`; None when it already names this region."""
    alias = " ".join(alias.split())
    if not alias or len(alias) > 120:
        raise TaxonomyError("An alias needs 1 to 120 characters.", "alias")
    key = normalize(alias)
    existing = session.scalar(sa.select(RegionAlias).where(RegionAlias.normalized == key))
    if existing is not None:
        if existing.region_id == region.id:
            return None
        raise TaxonomyError(f"{alias!r} already names {existing.region.name}.", "alias")
    if normalize(region.name) == key:
        return None
    row = RegionAlias(region=region, alias=alias, normalized=key)
    session.add(row)
    session.flush()
    return row


def create_region(
    session: Session, name: str, parent_slug: str = "", aliases: Iterable[str] = ()
) -> Region:
    """A region of the coalition's own, under `parent_slug` (none: at the top)."""
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise TaxonomyError("The name needs 1 to 120 characters.", "name")
    parent = None
    if parent_slug:
        parent = find_region(session, parent_slug)
        if parent is None:
            raise TaxonomyError(f"There is no region {parent_slug!r}.", "parent")
    slug = slugify(name)
    if find_region(session, slug) is not None:
        raise TaxonomyError(f"A region {slug!r} exists already.", "name")
    if session.scalar(sa.select(RegionAlias).where(RegionAlias.normalized == normalize(name))):
        raise TaxonomyError(f"{name!r} is already an alias of another region.", "name")
    region = Region(slug=slug, name=name, parent=parent, kind="group")
    session.add(region)
    session.flush()
    for alias in aliases:
        add_alias(session, region, alias)
    return region


def seed_regions(session: Session) -> int:
    """Create the M49 tree, its countries and the coalition's names; idempotent. Returns how
    many regions were added."""
    by_code = {
        r.code: r for r in session.scalars(sa.select(Region).where(Region.code.is_not(None)))
    }
    taken = set(session.scalars(sa.select(RegionAlias.normalized)))
    taken |= {normalize(name) for name in session.scalars(sa.select(Region.name))}
    added = 0
    for seed in m49.seeds():
        region = by_code.get(seed.code)
        if region is None:
            slug = slugify(seed.name)
            if slug in {r.slug for r in by_code.values()}:
                slug = f"{slug}-{seed.code.lower()}"
            region = Region(
                slug=slug,
                name=seed.name,
                code=seed.code,
                kind=seed.kind,
                parent=by_code.get(seed.parent_code) if seed.parent_code else None,
            )
            session.add(region)
            by_code[seed.code] = region
            taken.add(normalize(seed.name))
            added += 1
        for alias in seed.aliases:
            key = normalize(alias)
            if key not in taken:
                region.aliases.append(RegionAlias(alias=alias, normalized=key))
                taken.add(key)
    session.flush()
    return added


def find_handles(text: str) -> list[str]:
    """@handles in `text`, lower-cased, in order of first mention (emails are not handles)."""
    seen: list[str] = []
    for match in HANDLE.finditer(text):
        handle = match.group(1).lower()
        if handle not in seen:
            seen.append(handle)
    return seen


def find_person(session: Session, handle: str) -> Person | None:
    return session.scalar(
        sa.select(Person).where(Person.handle == handle.strip().lstrip("@").lower())
    )
