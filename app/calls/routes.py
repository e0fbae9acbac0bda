"""Call pages: a call, the archive, a series; editor forms for series and calls."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug import Response

from app.auth.models import Role
from app.auth.routes import role_required
from app.db import db, utcnow
from app.forms import options
from app.notes.services import notes_for_call
from app.taxonomy.services import list_regions

from . import services
from .display import announcement, city_times, offset_notices, rule_summary, zone_city
from .forms import CallForm, CancelForm, ExtraCallForm, RescheduleForm, SeriesForm
from .models import Call, Series
from .recurrence import parse_rule

bp = Blueprint("calls", __name__, template_folder="templates")

PAST_PAGE_SIZE = 20


def locale() -> str:
    return str(get_locale())


def horizon() -> int:
    return int(current_app.config.get("CALL_HORIZON_MONTHS", services.DEFAULT_HORIZON_MONTHS))


def visible_call(call_id: int) -> Call:
    """The call, if the viewer may see it (private calls only for the team)."""
    call = services.get_call(db.session, call_id)
    if call is None:
        abort(404)
    is_public = call.is_public and (call.series is None or call.series.is_public)
    if not is_public and not current_user.is_authenticated:
        abort(404)
    return call


def call_view(call: Call) -> dict[str, Any]:
    """What templates show of a call: its times in each city and its announcement."""
    times = city_times(call.start_at, call.timezone, call.cities, locale())
    home = zone_city(call.timezone, locale())
    return {
        "call": call,
        "date_text": format_date(
            call.start_at.astimezone(ZoneInfo(call.timezone)), "full", locale()
        ),
        "times": times,
        "notices": offset_notices(times, home),
        "announcement": announcement(call.start_at, call.timezone, call.cities, locale()),
        "home_city": home,
    }


def series_summary(series: Series) -> str:
    return rule_summary(
        parse_rule(series.rrule), series.start_time, series.timezone, locale(), series.first_date
    )


@bp.get("/calls/<int:call_id>")
def show_call(call_id: int) -> str:
    """A call: its time in every city and the viewer's zone, links, agenda and recording."""
    call = visible_call(call_id)
    is_team = current_user.is_authenticated
    forms = {"cancel_form": CancelForm()} if is_team else {}
    notes = notes_for_call(db.session, call, include_drafts=is_team)
    return render_template("calls/call.html", **call_view(call), **forms, notes=notes)


@bp.get("/calls/past")
def past_calls() -> str:
    """Calls that have happened, newest first."""
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)
    now = utcnow()
    calls = services.past_calls(
        db.session, now, limit=PAST_PAGE_SIZE + 1, offset=(page - 1) * PAST_PAGE_SIZE
    )
    views = [call_view(call) for call in calls[:PAST_PAGE_SIZE]]
    return render_template(
        "calls/past.html", views=views, page=page, has_next=len(calls) > PAST_PAGE_SIZE
    )


@bp.get("/series/<slug>")
def show_series(slug: str) -> str:
    """A series: its rule, upcoming calls, and the series it continues."""
    series = services.find_series(db.session, slug)
    if series is None or (not series.is_public and not current_user.is_authenticated):
        abort(404)
    upcoming = services.upcoming_calls(db.session, utcnow(), limit=12, series=series)
    return render_template(
        "calls/series.html",
        series=series,
        summary=series_summary(series),
        lineage=services.series_lineage(series),
        views=[call_view(call) for call in upcoming],
    )


# --- editors ---------------------------------------------------------------------------------


def _region_choices() -> list[tuple[str, str]]:
    return [("", _("Whole coalition"))] + [
        (region.slug, region.name) for region in list_regions(db.session)
    ]


def _series_input(form: SeriesForm) -> services.SeriesInput:
    return services.SeriesInput(
        title=form.title.data or "",
        description=form.description.data or "",
        timezone=form.timezone.data or "",
        start_time=form.start_time.data,
        duration_minutes=form.duration_minutes.data,
        rrule=form.rrule.data or "",
        first_date=form.first_date.data,
        join_url=form.join_url.data or "",
        registration_url=form.registration_url.data or "",
        region=form.region.data or "",
        display_cities=form.display_cities.data or "",
        reminder_minutes=form.reminder_minutes.data or "",
        is_public=form.is_public.data,
    )


def _show_error(form: FlaskForm, error: services.CallError) -> None:
    field = getattr(form, error.field, None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(error)]
    else:
        flash(str(error), "error")


def _cities_text(cities: list[dict[str, str]]) -> str:
    return "\n".join(f"{city['label']} | {city['zone']}" for city in cities)


def _series_form_page(form: SeriesForm, series: Series | None, status: int = 200) -> Any:
    occurrences = []
    if "preview" in request.form and form.validate():
        try:
            checked = services.check_series(db.session, _series_input(form))
            occurrences = services.preview(checked, utcnow(), count=6)
        except services.CallError as exc:
            _show_error(form, exc)
            status = 422
    elif request.method == "POST":
        status = 422
    previews = [
        city_times(
            start, form.timezone.data, services.parse_cities(form.display_cities.data), locale()
        )
        for start, _end in occurrences
    ]
    return (
        render_template(
            "calls/series_form.html",
            form=form,
            series=series,
            previews=list(zip(occurrences, previews, strict=True)),
        ),
        status,
    )


@bp.route("/series/new", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def new_series() -> Any:
    """Create a series, previewing its next calls before saving."""
    form = SeriesForm()
    form.region.choices = options(_region_choices())
    if request.method == "POST" and "preview" not in request.form and form.validate():
        try:
            series = services.create_series(
                db.session, _series_input(form), now=utcnow(), horizon_months=horizon()
            )
        except services.CallError as exc:
            _show_error(form, exc)
        else:
            flash(_("Series created with %(count)d calls.", count=len(series.calls)), "success")
            return redirect(url_for("calls.show_series", slug=series.slug))
    return _series_form_page(form, None)


@bp.route("/series/<slug>/edit", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit_series(slug: str) -> Any:
    """Change a series; a new day, time or rule continues it under a new series."""
    series = services.find_series(db.session, slug)
    if series is None:
        abort(404)
    if series.is_ended:
        abort(409, _("This series has ended; edit the series that continues it."))
    form = SeriesForm(obj=series if request.method == "GET" else None)
    form.region.choices = options(_region_choices())
    if request.method == "GET":
        form.region.data = series.region.slug if series.region else ""
        form.display_cities.data = _cities_text(series.display_cities)
        form.reminder_minutes.data = ", ".join(str(m) for m in series.reminder_minutes)
    elif "preview" not in request.form and form.validate():
        try:
            result = services.update_series(
                db.session,
                series,
                _series_input(form),
                effective_from=form.effective_from.data,
                now=utcnow(),
                horizon_months=horizon(),
            )
        except services.CallError as exc:
            _show_error(form, exc)
        else:
            if result is series:
                flash(_("Series saved."), "success")
            else:
                flash(_("The new timing continues as a new series from %(date)s.",
                        date=result.first_date.isoformat()), "success")  # fmt: skip
            return redirect(url_for("calls.show_series", slug=result.slug))
    return _series_form_page(form, series)


def _call_page_redirect(call: Call) -> Response:
    return redirect(url_for("calls.show_call", call_id=call.id))


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit_call(call_id: int) -> Any:
    """Change one call's title, agenda and links, or add its recording."""
    call = visible_call(call_id)
    form = CallForm()
    if request.method == "GET":
        form.title.data = call.display_title
        form.agenda.data = call.agenda
        form.join_url.data = call.effective_join_url
        form.registration_url.data = call.effective_registration_url
        form.recording_url.data = call.recording_url
    elif form.validate():
        try:
            services.edit_call(
                db.session,
                call,
                user=current_user,
                now=utcnow(),
                **{name: getattr(form, name).data for name in services.EDITABLE},
            )
        except services.CallError as exc:
            _show_error(form, exc)
        else:
            flash(_("Call saved."), "success")
            return _call_page_redirect(call)
    status = 422 if request.method == "POST" else 200
    return render_template("calls/call_form.html", form=form, call=call), status


@bp.route("/calls/<int:call_id>/reschedule", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def reschedule_call(call_id: int) -> Any:
    """Move one call to another time; its original slot is kept for calendars."""
    call = visible_call(call_id)
    form = RescheduleForm()
    if request.method == "GET":
        local = call.start_at.astimezone(ZoneInfo(call.timezone))
        form.start.data = local.strftime("%Y-%m-%dT%H:%M")
        form.timezone.data = call.timezone
        form.duration_minutes.data = int((call.end_at - call.start_at).total_seconds() // 60)
    elif form.validate():
        try:
            services.reschedule_call(
                db.session,
                call,
                form.start.data,
                duration_minutes=form.duration_minutes.data,
                end=form.end.data or None,
                timezone=form.timezone.data,
                user=current_user,
                now=utcnow(),
            )
        except services.CallError as exc:
            _show_error(form, exc)
        else:
            flash(_("Call rescheduled."), "success")
            return _call_page_redirect(call)
    status = 422 if request.method == "POST" else 200
    return render_template("calls/reschedule.html", form=form, call=call), status


@bp.post("/calls/<int:call_id>/cancel")
@role_required(Role.EDITOR)
def cancel_call(call_id: int) -> Any:
    """Cancel one call, with a reason shown to members."""
    call = visible_call(call_id)
    form = CancelForm()
    if not form.validate():
        abort(422, _("The reason is too long."))
    try:
        services.cancel_call(
            db.session, call, form.reason.data or "", user=current_user, now=utcnow()
        )
    except services.CallError as exc:
        abort(409, str(exc))
    flash(_("Call cancelled."), "success")
    return _call_page_redirect(call)


@bp.post("/calls/<int:call_id>/restore")
@role_required(Role.EDITOR)
def restore_call(call_id: int) -> Any:
    """Restore a cancelled call."""
    call = visible_call(call_id)
    if not FlaskForm().validate():
        abort(400)
    try:
        services.restore_call(db.session, call, user=current_user, now=utcnow())
    except services.CallError as exc:
        abort(409, str(exc))
    flash(_("Call restored."), "success")
    return _call_page_redirect(call)


@bp.route("/calls/new", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def new_extra_call() -> Any:
    """Add a one-off call, with or without a series."""
    form = ExtraCallForm()
    form.region.choices = options(_region_choices())
    form.series.choices = options(
        [("", _("None"))]
        + [(series.slug, series.title) for series in services.active_series(db.session)]
    )
    if request.method == "POST" and form.validate():
        series = services.find_series(db.session, form.series.data) if form.series.data else None
        try:
            call = services.add_extra_call(
                db.session,
                title=form.title.data or "",
                start=form.start.data,
                timezone=form.timezone.data,
                duration_minutes=form.duration_minutes.data,
                series=series,
                agenda=form.agenda.data or "",
                join_url=form.join_url.data or "",
                registration_url=form.registration_url.data or "",
                region=form.region.data or "",
                user=current_user,
                now=utcnow(),
            )
        except services.CallError as exc:
            _show_error(form, exc)
        else:
            flash(_("Extra call added."), "success")
            return _call_page_redirect(call)
    status = 422 if request.method == "POST" else 200
    return render_template("calls/extra_form.html", form=form), status
