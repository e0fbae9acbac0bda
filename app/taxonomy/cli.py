"""`flask regions ...`: the region tree."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.db import db

from . import services

regions_cli = AppGroup("regions", help="The region tree.")


@regions_cli.command("seed")
def seed_command() -> None:
    """Create the UN M49 regions and countries and the coalition's names (idempotent)."""
    added = services.seed_regions(db.session)
    db.session.commit()
    click.echo(f"{added} regions added.")


@regions_cli.command("add")
@click.option("--name", required=True)
@click.option("--parent", default="", help="Slug of the parent region.")
@click.option("--alias", "aliases", multiple=True, help="Another name (repeatable).")
def add_command(name: str, parent: str, aliases: tuple[str, ...]) -> None:
    """Add a region of the coalition's own."""
    try:
        region = services.create_region(db.session, name, parent, aliases)
        db.session.commit()
    except services.TaxonomyError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.field}: {exc}") from None
    click.echo(f"Added {region.slug}.")


@regions_cli.command("alias")
@click.argument("slug")
@click.argument("alias")
def alias_command(slug: str, alias: str) -> None:
    """Give region SLUG another name."""
    region = services.find_region(db.session, slug)
    if region is None:
        raise click.ClickException(f"No region {slug!r}.")
    try:
        services.add_alias(db.session, region, alias)
        db.session.commit()
    except services.TaxonomyError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.field}: {exc}") from None
    click.echo(f"{alias} now names {region.name}.")
