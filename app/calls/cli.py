"""`flask calls ...`: series and calls from the command line.

Each command parses its options, calls one service and commits once. A CallError (or an unknown
id or slug) becomes a one-line error naming the option at fault, exit code 1, and a rollback.
Start times are wall-clock times in the call's zone, such as 2027-03-09T11:00.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import db, utcnow

from . import services
from .display import rule_summary
from .models import Call, CallStatus, Series
from .recurrence import RuleError, get_zone, parse_rule

calls_cli = AppGroup("calls", help="Schedule series and calls.")

T = TypeVar("T")

# Service fields whose command-line option has another name.
OPTION_NAMES = {
    "duration_minutes": "duration",
    "display_cities": "city",
    "reminder_minutes": "reminders",
    "is_public": "private",
}
DATE = click.DateTime(formats=["%Y-%m-%d"])
STATUS_CHOICE = click.Choice([status.value for status in CallStatus])


def _option_name(field: str) -> str:
    return OPTION_NAMES.get(field, field).replace("_", "-")


def _run(action: Callable[[], T]) -> T:
    """Run `action` and commit; a CallError or lookup failure rolls back and becomes a CLI error."""
    try:
        result = action()
        db.session.commit()
    except services.CallError as exc:
        db.session.rollback()
        message = f"{_option_name(exc.field)}: {exc}" if exc.field else str(exc)
        raise click.ClickException(message) from None
    except click.ClickException:
        db.session.rollback()
        raise
    return result


def _horizon() -> int:
    return int(current_app.config.get("CALL_HORIZON_MONTHS", services.DEFAULT_HORIZON_MONTHS))


def _get_call(call_id: int) -> Call:
    call = services.get_call(db.session, call_id)
    if call is None:
        raise click.ClickException(f"No call with id {call_id}.")
    return call


def _get_series(slug: str | None) -> Series | None:
    if not slug:
        return None
    series = services.find_series(db.session, slug)
    if series is None:
        raise click.ClickException(f"No series with slug {slug!r}.")
    return series


def _check_zone(name: str) -> None:
    """Refuse an unknown zone before it reaches a service (an offset in --start skips its check)."""
    if not name:
        raise click.ClickException("timezone: Give --timezone, or --series for the series' zone.")
    try:
        get_zone(name, "timezone")
    except RuleError as exc:
        raise click.ClickException(f"{exc.field}: {exc}") from None


def _parse_cities(values: tuple[str, ...]) -> list[dict[str, str]] | None:
    """--city "Label|Area/Zone" options as the service's list; none means the default cities."""
    cities = []
    for value in values:
        label, sep, zone = value.partition("|")
        if not sep:
            raise click.ClickException(
                f"city: {value!r} is not of the form 'Label|Area/Zone' (e.g. 'Lagos|Africa/Lagos')."
            )
        cities.append({"label": label.strip(), "zone": zone.strip()})
    return cities or None


def _local(moment: dt.datetime, zone: str) -> str:
    return moment.astimezone(get_zone(zone)).isoformat(timespec="minutes")


def _describe(call: Call) -> str:
    """One tab-separated line: id, local start, zone, status, title, markers."""
    markers = [
        name
        for name, flag in (("rescheduled", call.is_rescheduled), ("extra", call.is_extra))
        if flag
    ]
    fields = [
        str(call.id),
        _local(call.start_at, call.timezone),
        call.timezone,
        call.status,
        call.display_title,
        ",".join(markers),
    ]
    return "\t".join(fields).rstrip("\t")


@calls_cli.command("create-series")
@click.option("--title", required=True)
@click.option("--timezone", required=True, help="IANA zone, e.g. America/New_York.")
@click.option("--start-time", required=True, help="Wall-clock time in the zone, e.g. 10:00.")
@click.option("--rrule", required=True, help='e.g. "FREQ=MONTHLY;BYDAY=2TU".')
@click.option("--first-date", required=True, help="e.g. 2026-01-01.")
@click.option("--duration", type=int, default=60, show_default=True, help="Minutes.")
@click.option("--description", default="")
@click.option("--join-url", default="")
@click.option("--registration-url", default="")
@click.option("--region", default="", help="Region slug.")
@click.option(
    "--city", "cities", multiple=True, help='"Label|Area/Zone"; repeatable. Default: the usual.'
)
@click.option("--reminders", default=None, help='Minutes before the call, e.g. "1440,30".')
@click.option("--private", is_flag=True, help="Keep the series off public pages and feeds.")
def create_series_command(
    title: str,
    timezone: str,
    start_time: str,
    rrule: str,
    first_date: str,
    duration: int,
    description: str,
    join_url: str,
    registration_url: str,
    region: str,
    cities: tuple[str, ...],
    reminders: str | None,
    private: bool,
) -> None:
    """Create a recurring series and its calls up to the horizon."""
    data = services.SeriesInput(
        title=title,
        timezone=timezone,
        start_time=start_time,
        rrule=rrule,
        first_date=first_date,
        duration_minutes=duration,
        description=description,
        join_url=join_url,
        registration_url=registration_url,
        region=region,
        display_cities=_parse_cities(cities),
        reminder_minutes=reminders,
        is_public=not private,
    )
    series = _run(lambda: services.create_series(db.session, data, horizon_months=_horizon()))
    summary = rule_summary(
        parse_rule(series.rrule), series.start_time, series.timezone, "en", series.first_date
    )
    click.echo(f"Created series {series.slug}.")
    click.echo(f"{summary}.")
    click.echo(f"{len(series.calls)} calls scheduled.")


@calls_cli.command("list")
@click.option("--series", "series_slug", help="Only this series (and those it continues).")
@click.option("--from", "from_date", type=DATE, help="From this date (UTC), e.g. 2027-01-01.")
@click.option("--to", "to_date", type=DATE, help="Up to this date (UTC), included.")
@click.option("--status", type=STATUS_CHOICE)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--past", is_flag=True, help="Past calls, newest first (default: upcoming).")
def list_command(
    series_slug: str | None,
    from_date: dt.datetime | None,
    to_date: dt.datetime | None,
    status: str | None,
    limit: int,
    past: bool,
) -> None:
    """List calls: id, start in the call's zone, zone, status, title, markers."""
    start = from_date.replace(tzinfo=dt.UTC) if from_date else None
    end = to_date.replace(tzinfo=dt.UTC) + dt.timedelta(days=1) if to_date else None
    if start and end and end <= start:
        raise click.BadParameter("must not be before --from.", param_hint="'--to'")
    series = _run(lambda: _get_series(series_slug))
    filters = {"series": series, "status": status, "public_only": False}
    now = utcnow()
    if past:
        before = min(end, now) if end else now
        calls = services.past_calls(db.session, before, limit=limit, start=start, **filters)
    else:
        calls = services.upcoming_calls(db.session, start or now, limit=limit, end=end, **filters)
    for call in calls:
        click.echo(_describe(call))
    if not calls:
        click.echo("No calls.")


@calls_cli.command("reschedule")
@click.argument("call_id", type=int)
@click.option("--start", required=True, help="New start, e.g. 2027-03-09T11:00.")
@click.option("--timezone", help="Zone of --start and of the call (default: the call's zone).")
@click.option("--duration", type=int, help="Minutes (default: unchanged).")
@click.option("--end", default=None, help="New end, wall-clock (instead of --duration).")
def reschedule_command(
    call_id: int, start: str, timezone: str | None, duration: int | None, end: str | None
) -> None:
    """Move a call; --start is wall-clock time in the call's zone unless --timezone is given."""
    if timezone:
        _check_zone(timezone)
    call = _run(
        lambda: services.reschedule_call(
            db.session,
            _get_call(call_id),
            start,
            duration_minutes=duration,
            end=end,
            timezone=timezone,
        )
    )
    end = _local(call.end_at, call.timezone)
    click.echo(f"Call {call.id} moved to {_local(call.start_at, call.timezone)} - {end}.")


@calls_cli.command("cancel")
@click.argument("call_id", type=int)
@click.option("--reason", default="", help="Shown with the call.")
def cancel_command(call_id: int, reason: str) -> None:
    """Cancel a call."""
    call = _run(lambda: services.cancel_call(db.session, _get_call(call_id), reason))
    click.echo(f"Call {call.id} on {_local(call.start_at, call.timezone)} is cancelled.")


@calls_cli.command("restore")
@click.argument("call_id", type=int)
def restore_command(call_id: int) -> None:
    """Restore a cancelled call."""
    call = _run(lambda: services.restore_call(db.session, _get_call(call_id)))
    click.echo(f"Call {call.id} on {_local(call.start_at, call.timezone)} is scheduled again.")


@calls_cli.command("add-extra")
@click.option("--title", default="", help="Required unless --series is given.")
@click.option("--start", required=True, help="Wall-clock start, e.g. 2027-02-01T15:00.")
@click.option("--timezone", help="IANA zone of --start (default: the series' zone).")
@click.option("--duration", type=int, default=60, show_default=True, help="Minutes.")
@click.option("--series", "series_slug", help="Attach the call to this series.")
@click.option("--agenda", default="")
@click.option("--join-url", default="")
@click.option("--registration-url", default="")
@click.option("--region", default="", help="Region slug (for a call without a series).")
def add_extra_command(
    title: str,
    start: str,
    timezone: str | None,
    duration: int,
    series_slug: str | None,
    agenda: str,
    join_url: str,
    registration_url: str,
    region: str,
) -> None:
    """Add a one-off call, on its own or as an extra call of a series."""

    def add() -> Call:
        series = _get_series(series_slug)
        zone = timezone or (series.timezone if series else "")
        _check_zone(zone)
        return services.add_extra_call(
            db.session,
            title=title,
            start=start,
            timezone=zone,
            duration_minutes=duration,
            series=series,
            agenda=agenda,
            join_url=join_url,
            registration_url=registration_url,
            region=region,
        )

    call = _run(add)
    when = _local(call.start_at, call.timezone)
    click.echo(f"Added call {call.id}: {call.display_title}, {when} ({call.timezone}).")


@calls_cli.command("generate")
@click.option(
    "--horizon-months",
    type=click.IntRange(1, 120),
    default=None,
    help="How far ahead to store calls (default: CALL_HORIZON_MONTHS, else 12).",
)
def generate_command(horizon_months: int | None) -> None:
    """Store every series' calls up to the horizon (what the daily job does)."""
    months = horizon_months or _horizon()
    result = _run(lambda: services.generate_all(db.session, horizon_months=months))
    click.echo(
        f"Calls created: {result.created}, removed: {result.removed}, "
        f"updated: {result.updated} (horizon {months} months)."
    )
