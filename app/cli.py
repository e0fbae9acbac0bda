"""Commands that belong to no single domain: `flask db ...` (Alembic) and `flask demo`."""

from __future__ import annotations

import secrets

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask
from flask.cli import AppGroup, with_appcontext

import config as config_module
from app.db import db

db_cli = AppGroup("db", help="Database migrations (Alembic).")


def alembic_config(connection: object | None = None) -> AlembicConfig:
    """Alembic's config from pyproject.toml, running on `connection` when one is given."""
    cfg = AlembicConfig(toml_file=str(config_module.ROOT / "pyproject.toml"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def run_alembic(action: str, *args: object, **kwargs: object) -> None:
    """Run an Alembic command on the app's engine, in one transaction."""
    with db.engine.begin() as connection:
        getattr(command, action)(alembic_config(connection), *args, **kwargs)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Upgrade the database to REVISION (default: head)."""
    run_alembic("upgrade", revision)


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade_command(revision: str) -> None:
    """Downgrade the database to REVISION ("base" empties it)."""
    run_alembic("downgrade", revision)


@db_cli.command("current")
def current_command() -> None:
    """Show the database's revision."""
    run_alembic("current", verbose=True)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True)
def revision_command(message: str, autogenerate: bool) -> None:
    """Write a new revision comparing the models with the database."""
    run_alembic("revision", message=message, autogenerate=autogenerate)


DEMO_ADMIN_EMAIL = "admin@example.org"


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load demo data, and (re)set the demo admin's password, printing the login."""
    from app.auth import services

    password = secrets.token_urlsafe(12)
    user = services.find_user(db.session, DEMO_ADMIN_EMAIL)
    if user is None:
        services.create_user(
            db.session, email=DEMO_ADMIN_EMAIL, name="Demo admin", password=password, role="admin"
        )
    else:
        services.set_password(db.session, user, password)
        services.set_active(db.session, user, True)
    db.session.commit()
    click.echo(f"Admin login: {DEMO_ADMIN_EMAIL} / {password}")


def register(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(demo_command)
