"""The rules of scheduling: series, their calls, and single-call changes.

Services validate their input (raising CallError naming the field at fault), change state and
flush; the caller commits. Every function that depends on the time takes `now`, so tests and jobs
run on a fixed clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User
from app.cache import bump_versions
from app.db import utcnow
from app.taxonomy.models import Region
from app.taxonomy.services import descendant_ids, find_region

from .models import (
    DEFAULT_CITIES,
    DEFAULT_REMINDER_MINUTES,
    Call,
    CallChange,
    CallStatus,
    Series,
)
from .recurrence import RuleError, Timing, get_zone, parse_rule, to_instant

DEFAULT_HORIZON_MONTHS = 12
MAX_DURATION_MINUTES = 24 * 60


class CallError(ValueError):
    """Input that cannot be scheduled; `field` names the form field or option at fault."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# --- input -----------------------------------------------------------------------------------


@dataclasses.dataclass
class SeriesInput:
    """What an editor gives for a series (from the form, the CLI or the API), not yet checked."""

    title: str
    timezone: str
    start_time: dt.time | str
    rrule: str
    first_date: dt.date | str
    duration_minutes: int | str = 60
    description: str = ""
    join_url: str = ""
    registration_url: str = ""
    region: str = ""
    display_cities: list[dict[str, str]] | str | None = None
    reminder_minutes: list[int] | str | None = None
    is_public: bool = True


def _parse_time(value: dt.time | str, field: str) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    try:
        return dt.time.fromisoformat(str(value).strip())
    except ValueError:
        raise CallError(f"{value!r} is not a time such as 10:00.", field) from None


def _parse_date(value: dt.date | str, field: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise CallError(f"{value!r} is not a date such as 2026-12-08.", field) from None


def _parse_minutes(
    value: int | str, field: str, low: int = 1, high: int = MAX_DURATION_MINUTES
) -> int:
    try:
        minutes = int(str(value).strip())
    except ValueError:
        raise CallError(f"{value!r} is not a number of minutes.", field) from None
    if not low <= minutes <= high:
        raise CallError(f"Give between {low} and {high} minutes, not {minutes}.", field)
    return minutes


def check_url(value: str | None, field: str) -> str:
    """An http(s) URL or empty."""
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 500:
        raise CallError(f"{value[:80]!r} is not an http:// or https:// address.", field)
    return value


def parse_cities(value: list[dict[str, str]] | str | None) -> list[dict[str, str]]:
    """Display cities from a list or from lines of "Label | Area/Zone"; none means the defaults."""
    if value is None or value == "" or value == []:
        return [dict(city) for city in DEFAULT_CITIES]
    if isinstance(value, str):
        cities = []
        for number, line in enumerate(value.splitlines(), start=1):
            if not line.strip():
                continue
            label, sep, zone = line.partition("|")
            if not sep:
                raise CallError(
                    f"Line {number}: write a city as 'Label | Area/Zone', "
                    "e.g. 'Jakarta | Asia/Jakarta'.",
                    "display_cities",
                )
            cities.append({"label": label.strip(), "zone": zone.strip()})
        value = cities
    checked = []
    for city in value:
        label, zone = str(city.get("label", "")).strip(), str(city.get("zone", "")).strip()
        if not label or len(label) > 80:
            raise CallError(
                "Each display city needs a label of at most 80 characters.", "display_cities"
            )
        try:
            get_zone(zone, "display_cities")
        except RuleError as exc:
            raise CallError(f"{label}: {exc}", "display_cities") from None
        checked.append({"label": label, "zone": zone})
    if len(checked) > 20:
        raise CallError("Give at most 20 display cities.", "display_cities")
    return checked


def parse_reminders(value: list[int] | str | None) -> list[int]:
    """Reminder offsets in minutes before the call ("1440, 30"); none means the defaults."""
    if value is None or value == "":
        return list(DEFAULT_REMINDER_MINUTES)
    items = value.replace(";", ",").split(",") if isinstance(value, str) else value
    minutes = sorted(
        {
            _parse_minutes(item, "reminder_minutes", 1, 14 * 24 * 60)
            for item in items
            if str(item).strip()
        },
        reverse=True,
    )
    if len(minutes) > 5:
        raise CallError("Give at most 5 reminder times.", "reminder_minutes")
    return minutes


@dataclasses.dataclass
class CheckedSeries:
    title: str
    description: str
    timezone: str
    start_time: dt.time
    duration_minutes: int
    rrule: str
    first_date: dt.date
    join_url: str
    registration_url: str
    region: Region | None
    display_cities: list[dict[str, str]]
    reminder_minutes: list[int]
    is_public: bool

    @property
    def timing(self) -> Timing:
        return Timing(
            rule=parse_rule(self.rrule),
            zone=get_zone(self.timezone),
            first_date=self.first_date,
            start_time=self.start_time,
            duration=dt.timedelta(minutes=self.duration_minutes),
        )

    def timing_key(self) -> tuple[Any, ...]:
        return (self.timezone, self.start_time, self.rrule)


def check_series(session: Session, data: SeriesInput) -> CheckedSeries:
    """Validate a series' input; raise CallError naming the first field at fault."""
    title = (data.title or "").strip()
    if not title or len(title) > 200:
        raise CallError("The title must have 1 to 200 characters.", "title")
    try:
        get_zone((data.timezone or "").strip(), "timezone")
        rule = parse_rule(data.rrule)
    except RuleError as exc:
        raise CallError(str(exc), exc.field) from None
    region = None
    if data.region and str(data.region).strip():
        region = find_region(session, str(data.region))
        if region is None:
            raise CallError(f"There is no region {data.region!r}.", "region")
    checked = CheckedSeries(
        title=title,
        description=(data.description or "").strip(),
        timezone=data.timezone.strip(),
        start_time=_parse_time(data.start_time, "start_time"),
        duration_minutes=_parse_minutes(data.duration_minutes, "duration_minutes"),
        rrule=str(rule),
        first_date=_parse_date(data.first_date, "first_date"),
        join_url=check_url(data.join_url, "join_url"),
        registration_url=check_url(data.registration_url, "registration_url"),
        region=region,
        display_cities=parse_cities(data.display_cities),
        reminder_minutes=parse_reminders(data.reminder_minutes),
        is_public=bool(data.is_public),
    )
    first = next(checked.timing.local_starts(), None)
    if first is None:
        raise CallError(
            "This rule yields no calls from the first date on: check BYDAY, COUNT and UNTIL.",
            "rrule",
        )
    checked.first_date = first.date()  # a master's DTSTART must be its first occurrence
    return checked


def preview(
    checked: CheckedSeries, now: dt.datetime, count: int = 6
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The next `count` (start, end) instants the series would have from `now` on."""
    upcoming = []
    for start, end in checked.timing.occurrences(start=now.date()):
        if end > now:
            upcoming.append((start, end))
        if len(upcoming) == count:
            break
    return upcoming


# --- series ----------------------------------------------------------------------------------


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80] or "series"


def _unique_slug(session: Session, base: str) -> str:
    slug, number = base, 2
    while session.scalar(sa.select(Series.id).where(Series.slug == slug)) is not None:
        slug, number = f"{base}-{number}", number + 1
    return slug


def find_series(session: Session, slug: str) -> Series | None:
    return session.scalar(sa.select(Series).where(Series.slug == slug.strip().lower()))


def _apply(series: Series, checked: CheckedSeries) -> None:
    for name in (
        "title",
        "description",
        "timezone",
        "start_time",
        "duration_minutes",
        "rrule",
        "first_date",
        "join_url",
        "registration_url",
        "region",
        "display_cities",
        "reminder_minutes",
        "is_public",
    ):
        setattr(series, name, getattr(checked, name))


def create_series(
    session: Session,
    data: SeriesInput,
    *,
    now: dt.datetime | None = None,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
) -> Series:
    """Create a series and its calls up to the horizon."""
    checked = check_series(session, data)
    series = Series(slug=_unique_slug(session, slugify(checked.title)))
    _apply(series, checked)
    session.add(series)
    session.flush()
    generate_calls(session, series, now=now, horizon_months=horizon_months)
    return series


def update_series(
    session: Session,
    series: Series,
    data: SeriesInput,
    *,
    effective_from: dt.date | str | None = None,
    now: dt.datetime | None = None,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
) -> Series:
    """Change a series; return the series that carries on (itself, or its successor).

    Title, description, links, region, cities, reminders and duration change in place. A change
    of zone, start time or rule closes the series the day before `effective_from` (default:
    today) and continues under a new series, so past calls and their notes keep their series.
    """
    if series.is_ended:
        raise CallError("This series has ended; change the series that continues it.", "series")
    now = now or utcnow()
    checked = check_series(session, data)
    same_timing = checked.timing_key() == (series.timezone, series.start_time, series.rrule)
    if same_timing:
        checked.first_date = series.first_date
        _apply(series, checked)
        series.sequence += 1
        series.updated_at = now
        session.flush()
        generate_calls(session, series, now=now, horizon_months=horizon_months)
        return series

    start = _parse_date(effective_from, "effective_from") if effective_from else now.date()
    start = max(start, checked.first_date)
    has_past = next(series.timing.local_starts(until=start - dt.timedelta(days=1)), None)
    if has_past is None:
        # Nothing happened under the old timing yet: change the series itself.
        checked.first_date = _first_date_from(checked, start)
        _apply(series, checked)
        series.sequence += 1
        series.updated_at = now
        for call in list(series.calls):
            session.delete(call)
        session.flush()
        session.expire(series, ["calls"])
        generate_calls(session, series, now=now, horizon_months=horizon_months)
        return series

    checked.first_date = _first_date_from(checked, start)
    old_slug = series.slug
    series.ends_on = start - dt.timedelta(days=1)
    series.slug = _unique_slug(session, f"{old_slug[:60]}-until-{series.ends_on:%Y-%m-%d}")
    series.sequence += 1
    series.updated_at = now
    session.flush()
    successor = Series(slug=old_slug, previous=series)
    _apply(successor, checked)
    session.add(successor)
    session.flush()
    generate_calls(session, series, now=now, horizon_months=horizon_months)
    generate_calls(session, successor, now=now, horizon_months=horizon_months)
    return successor


def _first_date_from(checked: CheckedSeries, start: dt.date) -> dt.date:
    timing = dataclasses.replace(checked.timing, first_date=start)
    first = next(timing.local_starts(), None)
    if first is None:
        raise CallError("The new rule yields no calls from that date on.", "rrule")
    return first.date()


def active_series(session: Session) -> list[Series]:
    """Series that have not ended, by title."""
    query = sa.select(Series).where(Series.ends_on.is_(None)).order_by(Series.title)
    return list(session.scalars(query))


def series_lineage(series: Series) -> list[Series]:
    """The series and those it continues, oldest first."""
    chain = [series]
    while chain[0].previous is not None:
        chain.insert(0, chain[0].previous)
    return chain


# --- generating calls ------------------------------------------------------------------------


@dataclasses.dataclass
class Generated:
    created: int = 0
    removed: int = 0
    updated: int = 0


def generate_calls(
    session: Session,
    series: Series,
    *,
    now: dt.datetime | None = None,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
) -> Generated:
    """Store the series' calls up to the horizon. Idempotent; overrides are kept.

    Slots the series no longer has (it was closed) lose their calls; unchanged calls follow a
    change of duration. Rows are read and written in bulk, without building ORM objects: a
    series with ten years of history has hundreds of calls.
    """
    now = now or utcnow()
    horizon = (now + relativedelta(months=horizon_months)).date()
    session.flush()
    wanted = dict(series.timing.occurrences(until=horizon))
    existing = session.execute(
        sa.select(Call.id, Call.original_start_at, Call.start_at, Call.end_at).where(
            Call.series_id == series.id, Call.original_start_at.is_not(None)
        )
    ).all()
    known = {row.original_start_at for row in existing}
    new_rows = [
        {
            "series_id": series.id,
            "original_start_at": start,
            "start_at": start,
            "end_at": end,
            "timezone": series.timezone,
            "created_at": now,
            "updated_at": now,
        }
        for start, end in wanted.items()
        if start not in known
    ]
    ends = [
        {"id": row.id, "end_at": wanted[row.original_start_at]}
        for row in existing
        if row.original_start_at in wanted
        and row.start_at == row.original_start_at
        and row.end_at != wanted[row.original_start_at]
    ]
    gone = [
        row.id
        for row in existing
        if row.original_start_at not in wanted and row.original_start_at.date() <= horizon
    ]
    if new_rows:
        session.execute(sa.insert(Call), new_rows)
    if ends:
        session.execute(sa.update(Call), ends)
    if gone:
        session.execute(
            sa.delete(Call).where(Call.id.in_(gone)).execution_options(synchronize_session=False)
        )
    if new_rows or ends or gone:
        bump_versions(session, {"schedule"})
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Call) and obj.series_id == series.id:
                session.expunge(obj) if obj.id in gone else session.expire(obj)
    session.expire(series, ["calls"])
    return Generated(created=len(new_rows), removed=len(gone), updated=len(ends))


def generate_all(
    session: Session,
    *,
    now: dt.datetime | None = None,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
) -> Generated:
    """Regenerate every series' calls (the daily job)."""
    total = Generated()
    for series in session.scalars(sa.select(Series).order_by(Series.id)):
        result = generate_calls(session, series, now=now, horizon_months=horizon_months)
        total.created += result.created
        total.removed += result.removed
        total.updated += result.updated
    return total


# --- single calls ----------------------------------------------------------------------------


def _log(
    session: Session, call: Call, action: str, user: User | None, now: dt.datetime, **details: Any
) -> None:
    call.sequence += 1
    call.updated_at = now
    session.add(CallChange(call=call, user=user, action=action, details=details, created_at=now))


def local_instant(local: dt.datetime | str, zone_name: str, field: str = "start") -> dt.datetime:
    """The UTC instant of a wall-clock time in `zone_name`."""
    if isinstance(local, str):
        try:
            local = dt.datetime.fromisoformat(local.strip())
        except ValueError:
            raise CallError(
                f"{local!r} is not a date and time such as 2026-12-08T10:00.", field
            ) from None
    try:
        zone = get_zone(zone_name, "timezone")
    except RuleError as exc:
        raise CallError(str(exc), exc.field) from None
    if local.tzinfo is not None:
        return local.astimezone(dt.UTC)
    return to_instant(local, zone)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def reschedule_call(
    session: Session,
    call: Call,
    start: dt.datetime | str,
    *,
    duration_minutes: int | str | None = None,
    end: dt.datetime | str | None = None,
    timezone: str | None = None,
    user: User | None = None,
    now: dt.datetime | None = None,
) -> Call:
    """Move a call; its original slot stays its recurrence id. The new end is `end` (wall
    clock in the same zone), or the start plus `duration_minutes`, or keeps the duration."""
    now = now or utcnow()
    if call.is_cancelled:
        raise CallError("A cancelled call cannot be rescheduled: restore it first.", "status")
    zone = (timezone or call.timezone).strip()
    new_start = local_instant(start, zone)
    if end not in (None, ""):
        new_end = local_instant(end, zone, "end")
        if new_end <= new_start:
            raise CallError("The end must be after the start.", "end")
        if new_end - new_start > dt.timedelta(minutes=MAX_DURATION_MINUTES):
            raise CallError("A call lasts at most 24 hours.", "end")
    else:
        minutes = (
            _parse_minutes(duration_minutes, "duration_minutes")
            if duration_minutes not in (None, "")
            else int((call.end_at - call.start_at).total_seconds() // 60)
        )
        new_end = new_start + dt.timedelta(minutes=minutes)
    if (new_start, new_end, zone) == (call.start_at, call.end_at, call.timezone):
        raise CallError("The call is already at that time.", "start")
    before = (call.start_at, call.end_at)
    call.start_at = new_start
    call.end_at = new_end
    call.timezone = zone
    _log(session, call, "rescheduled", user, now, **{
        "from": _iso(before[0]), "to": _iso(call.start_at), "end": _iso(call.end_at),
    })  # fmt: skip
    session.flush()
    return call


def cancel_call(
    session: Session,
    call: Call,
    reason: str = "",
    *,
    user: User | None = None,
    now: dt.datetime | None = None,
) -> Call:
    now = now or utcnow()
    if call.is_cancelled:
        raise CallError("This call is already cancelled.", "status")
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise CallError("Keep the reason under 500 characters.", "reason")
    call.status = CallStatus.CANCELLED.value
    call.cancel_reason = reason
    _log(session, call, "cancelled", user, now, reason=reason)
    session.flush()
    return call


def restore_call(
    session: Session, call: Call, *, user: User | None = None, now: dt.datetime | None = None
) -> Call:
    now = now or utcnow()
    if not call.is_cancelled:
        raise CallError("This call is not cancelled.", "status")
    call.status = CallStatus.SCHEDULED.value
    call.cancel_reason = ""
    _log(session, call, "restored", user, now)
    session.flush()
    return call


EDITABLE = ("title", "agenda", "join_url", "registration_url", "recording_url")


def edit_call(
    session: Session,
    call: Call,
    *,
    user: User | None = None,
    now: dt.datetime | None = None,
    **changes: str | None,
) -> Call:
    """Change a call's own title, agenda or links; "" or None for a title or link: as the series."""
    now = now or utcnow()
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise CallError(f"{', '.join(sorted(unknown))} cannot be edited here.", sorted(unknown)[0])
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        value = (value or "").strip()
        if name.endswith("_url"):
            value = check_url(value, name)
        if name == "title" and len(value) > 200:
            raise CallError("The title must have at most 200 characters.", "title")
        if name == "agenda" and len(value) > 20000:
            raise CallError("The agenda must have at most 20,000 characters.", "agenda")
        if name in ("title", "join_url", "registration_url") and call.series is not None:
            inherited = getattr(call.series, name)
            cleaned[name] = None if value in ("", inherited) else value
        else:
            cleaned[name] = value
    diff = {name: value for name, value in cleaned.items() if getattr(call, name) != value}
    if not diff:
        return call
    for name, value in diff.items():
        setattr(call, name, value)
    if set(diff) - {"recording_url"}:
        call.is_edited = True
    _log(
        session,
        call,
        "recording" if set(diff) == {"recording_url"} else "edited",
        user,
        now,
        **diff,
    )
    session.flush()
    return call


def add_extra_call(
    session: Session,
    *,
    title: str,
    start: dt.datetime | str,
    timezone: str,
    duration_minutes: int | str = 60,
    series: Series | None = None,
    agenda: str = "",
    join_url: str = "",
    registration_url: str = "",
    region: str = "",
    user: User | None = None,
    now: dt.datetime | None = None,
) -> Call:
    """A one-off call, with or without a series."""
    now = now or utcnow()
    title = (title or "").strip()
    if not title and series is None:
        raise CallError("An extra call needs a title.", "title")
    if len(title) > 200:
        raise CallError("The title must have at most 200 characters.", "title")
    zone = (timezone or (series.timezone if series else "")).strip()
    begin = local_instant(start, zone)
    minutes = _parse_minutes(duration_minutes, "duration_minutes")
    region_row = None
    if region and region.strip():
        region_row = find_region(session, region)
        if region_row is None:
            raise CallError(f"There is no region {region!r}.", "region")
    call = Call(
        series=series,
        original_start_at=None,
        start_at=begin,
        end_at=begin + dt.timedelta(minutes=minutes),
        timezone=zone,
        title=title or None,
        agenda=(agenda or "").strip(),
        join_url=check_url(join_url, "join_url") or (None if series else ""),
        registration_url=check_url(registration_url, "registration_url")
        or (None if series else ""),
        region_override=region_row,
        created_at=now,
        updated_at=now,
    )
    session.add(call)
    session.flush()
    session.add(
        CallChange(call=call, user=user, action="created", details={"extra": True}, created_at=now)
    )
    session.flush()
    return call


# --- queries ---------------------------------------------------------------------------------


MAX_ID = 2**31 - 1


def get_call(session: Session, call_id: int) -> Call | None:
    if not 0 < call_id <= MAX_ID:  # larger ids overflow SQLite's driver; none exist anyway
        return None
    return session.get(Call, call_id)


def _region_filter(session: Session, region: Region) -> Any:
    ids = descendant_ids(session, region)
    return sa.or_(
        Call.series.has(Series.region_id.in_(ids)),
        sa.and_(Call.series_id.is_(None), Call.region_id.in_(ids)),
    )


def find_calls(
    session: Session,
    *,
    series: Series | None = None,
    region: Region | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
    newest_first: bool = False,
    public_only: bool = True,
) -> Sequence[Call]:
    """Calls matching the filters; `start`/`end` bound the call's end and start instants."""
    query = sa.select(Call).options(selectinload(Call.series).selectinload(Series.region))
    if series is not None:
        query = query.where(Call.series_id.in_([s.id for s in series_lineage(series)]))
    if region is not None:
        query = query.where(_region_filter(session, region))
    if start is not None:
        query = query.where(Call.end_at > start)
    if end is not None:
        query = query.where(Call.start_at < end)
    if status:
        query = query.where(Call.status == status)
    if public_only:
        query = query.where(
            Call.is_public, sa.or_(Call.series_id.is_(None), Call.series.has(Series.is_public))
        )
    order = (Call.start_at.desc(), Call.id.desc()) if newest_first else (Call.start_at, Call.id)
    return session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()


def upcoming_calls(
    session: Session, now: dt.datetime, limit: int = 10, **filters: Any
) -> Sequence[Call]:
    return find_calls(session, start=now, limit=limit, **filters)


def past_calls(
    session: Session, now: dt.datetime, limit: int = 20, offset: int = 0, **filters: Any
) -> Sequence[Call]:
    return find_calls(session, end=now, limit=limit, offset=offset, newest_first=True, **filters)
