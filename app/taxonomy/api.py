"""JSON API: GET /api/regions and GET /api/people.

Thin: parse and check the query, ask the services, serialize. Bad input is a 400 whose message
names the parameter at fault; an unknown region or person is a 404.

People are the speakers of published updates: someone named only in drafts is not listed, and
each person's `updates` counts published updates only.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, jsonify
from sqlalchemy.orm import selectinload

from app.api import bad, int_arg, text_arg
from app.db import db
from app.notes.models import Note, NoteStatus, Update, update_speakers

from . import services
from .models import Person, Region

bp = Blueprint("taxonomy_api", __name__, url_prefix="/api")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_KEY = 80  # longer than any slug or handle
YES, NO = ("1", "true", "yes"), ("0", "false", "no")


def _key(value: str) -> str | None:
    """A slug or handle from the path, or None when it cannot name anything."""
    value = value.strip()
    return None if not value or len(value) > MAX_KEY or "\x00" in value else value


# --- regions ---------------------------------------------------------------------------------


def region_json(region: Region, parents: dict[int, Region]) -> dict[str, Any]:
    parent = parents.get(region.parent_id) if region.parent_id else None
    return {
        "id": region.id,
        "slug": region.slug,
        "name": region.name,
        "code": region.code,
        "kind": region.kind,
        "parent": parent.slug if parent else None,
        "aliases": [alias.alias for alias in region.aliases],
    }


def _branch(region: Region) -> dict[str, Any]:
    return {
        "slug": region.slug,
        "name": region.name,
        "children": [_branch(child) for child in region.children],
    }


@bp.get("/regions")
def list_regions() -> Response:
    """Every region by name, or (`tree=1`) the tree from the top."""
    tree = (text_arg("tree") or "0").lower()
    if tree not in YES + NO:
        bad(f"tree: {tree[:40]!r} is not one of {', '.join(YES + NO)}.")
    if tree in YES:
        return jsonify(regions=[_branch(root) for root in services.region_tree(db.session)])
    regions = db.session.scalars(
        sa.select(Region).options(selectinload(Region.aliases)).order_by(Region.name, Region.id)
    ).all()
    by_id = {region.id: region for region in regions}
    return jsonify(regions=[region_json(region, by_id) for region in regions])


@bp.get("/regions/<slug>")
def show_region(slug: str) -> Response:
    """One region with its place in the tree."""
    key = _key(slug)
    region = services.find_region(db.session, key) if key else None
    if region is None:
        abort(404, f"slug: no region {slug[:40]!r}.")
    chain = services.ancestors(region)
    parents = {chain[-1].id: chain[-1]} if chain else {}
    return jsonify(
        {
            **region_json(region, parents),
            "children": [child.slug for child in region.children],
            "ancestors": [{"slug": r.slug, "name": r.name} for r in chain],
        }
    )


# --- people ----------------------------------------------------------------------------------


def _published_updates(person_id: Any) -> sa.Select[tuple[int]]:
    """How many published updates the person (an id, or a column to correlate) speaks in."""
    return (
        sa.select(sa.func.count(update_speakers.c.update_id))
        .join(Update, Update.id == update_speakers.c.update_id)
        .join(Note, Note.id == Update.note_id)
        .where(update_speakers.c.person_id == person_id, Note.status == NoteStatus.PUBLISHED)
    )


def person_json(person: Person, updates: int) -> dict[str, Any]:
    return {
        "handle": person.handle,
        "display_name": person.display_name,
        "organisation": person.organisation,
        "url": f"{current_app.config['BASE_URL']}/people/{person.handle}",
        "updates": updates,
    }


@bp.get("/people")
def list_people() -> Response:
    """Speakers whose handle or display name starts with `q` (any case), by handle."""
    prefix = (text_arg("q") or "").lstrip("@").lower()
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    count = _published_updates(Person.id).scalar_subquery()
    query = sa.select(Person, count).where(count > 0)
    if prefix:
        query = query.where(
            sa.or_(
                Person.handle.startswith(prefix, autoescape=True),
                sa.func.lower(Person.display_name).startswith(prefix, autoescape=True),
            )
        )
    rows = db.session.execute(query.order_by(Person.handle).limit(limit)).all()
    return jsonify(people=[person_json(person, updates) for person, updates in rows])


@bp.get("/people/<handle>")
def show_person(handle: str) -> Response:
    """One speaker; the handle in any case, with or without "@"."""
    key = _key(handle)
    person = services.find_person(db.session, key) if key else None
    updates = db.session.scalar(_published_updates(person.id)) if person else 0
    if person is None or not updates:
        abort(404, f"handle: no person {handle[:40]!r}.")
    return jsonify(
        {
            **person_json(person, updates),
            "home_region": person.home_region.slug if person.home_region else None,
        }
    )
