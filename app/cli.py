"""Commands that belong to no single domain: `flask db ...` (Alembic) and `flask demo`."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from dateutil.relativedelta import relativedelta
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

import config as config_module
from app.db import db, utcnow
from app.taxonomy.services import seed_regions

if TYPE_CHECKING:
    from app.calls.models import Series

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
DEMO_SERIES_SLUG = "coalition-call"


def demo_series() -> tuple[Series, bool]:
    """The demo's monthly series with a cancelled, a moved and an extra call; created once."""
    from app.calls import services

    series = services.find_series(db.session, DEMO_SERIES_SLUG)
    if series is not None:
        return series, False
    now = utcnow()
    today = now.date()
    horizon = int(current_app.config.get("CALL_HORIZON_MONTHS", services.DEFAULT_HORIZON_MONTHS))
    series = services.create_series(
        db.session,
        services.SeriesInput(
            title="Global coalition call",
            timezone="America/New_York",
            start_time="10:00",
            rrule="FREQ=MONTHLY;BYDAY=2TU",
            first_date=today - relativedelta(months=6),
            duration_minutes=60,
            description="Our monthly call: news from each region, campaigns, questions.",
            join_url="https://meet.example.org/coalition",
            registration_url="https://example.org/register",
        ),
        now=now,
        horizon_months=horizon,
    )
    series.slug = DEMO_SERIES_SLUG
    db.session.flush()
    upcoming = [call for call in series.calls if call.start_at > now]
    if len(upcoming) > 1:
        reason = "Moved to the regional calls this month."
        services.cancel_call(db.session, upcoming[1], reason, now=now)
    if len(upcoming) > 2:
        moved = upcoming[2]
        local_start = moved.start_at.astimezone(ZoneInfo(moved.timezone)).replace(tzinfo=None)
        later = local_start + dt.timedelta(hours=1)
        services.reschedule_call(db.session, moved, later, now=now)
    services.add_extra_call(
        db.session,
        title="Regional call: West Africa",
        start=dt.datetime.combine(today + dt.timedelta(weeks=3), dt.time(14, 0)),
        timezone="Africa/Lagos",
        duration_minutes=60,
        agenda="Campaign updates from Ghana, Nigeria and Senegal.",
        join_url="https://meet.example.org/west-africa",
        now=now,
    )
    db.session.expire(series, ["calls"])
    return series, True


DEMO_NOTES = config_module.ROOT / "notes"


def demo_notes(series: Series) -> tuple[int, int, list[str]]:
    """Import the demo notes from notes/, once: a note whose slug exists is left as it is.

    The files name no call (the demo's calls depend on the day it runs): in file order, each goes
    to the next most recent past call of the series, and is dated the day after it. Returns
    (created, already there, errors as "path:line: message").
    """
    from app.calls import services as calls
    from app.notes import cli as notes
    from app.notes.files import FileError
    from app.notes.services import find_note
    from app.taxonomy.matching import region_matcher

    now = utcnow()
    paths = notes.note_files(DEMO_NOTES)
    past = calls.past_calls(
        db.session, now, limit=len(paths), series=series, status="scheduled", public_only=False
    )
    matcher = region_matcher(db.session)
    created = existing = 0
    errors = []
    for number, path in enumerate(paths):
        savepoint = db.session.begin_nested()
        try:
            note_file = notes.read_note_file(path)
            if find_note(db.session, note_file.slug) is not None:
                existing += 1
                savepoint.rollback()
                continue
            when = now
            if note_file.call is None and note_file.call_id is None and number < len(past):
                note_file.call_id = past[number].id
                when = min(past[number].end_at + dt.timedelta(days=1), now)
            notes.save_file(db.session, note_file, matcher, now=when)
        except FileError as exc:
            savepoint.rollback()
            errors.append(f"{path}:{exc.line}: {exc}")
            continue
        savepoint.commit()
        created += 1
    return created, existing, errors


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load demo data (once): regions, a series of calls and notes of its past calls; and (re)set
    the demo admin's password, printing the login."""
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
    seed_regions(db.session)
    series, created = demo_series()
    notes_created, notes_existing, errors = demo_notes(series)
    db.session.commit()
    state = "created" if created else "already there"
    click.echo(f"Demo series: {series.slug} ({len(series.calls)} calls, {state})")
    click.echo(f"Demo notes: {notes_created} created, {notes_existing} already there")
    for error in errors:
        click.echo(error, err=True)
    # Last, so that the login is the end of the output.
    click.echo(f"Admin login: {DEMO_ADMIN_EMAIL} / {password}")


def register(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(demo_command)
