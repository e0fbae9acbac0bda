"""Editor forms for series and calls. The services validate; forms carry the fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class SeriesForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    timezone = StringField(
        _l("Time zone"),
        default="America/New_York",
        validators=[DataRequired(), Length(max=64)],
        description=_l("An IANA name such as America/New_York: the series' own clock."),
    )
    start_time = TimeField(_l("Start time"), validators=[InputRequired()])
    duration_minutes = IntegerField(
        _l("Duration (minutes)"), default=60, validators=[DataRequired(), NumberRange(1, 1440)]
    )
    rrule = StringField(
        _l("Recurrence rule"),
        default="FREQ=MONTHLY;BYDAY=2TU",
        validators=[DataRequired(), Length(max=300)],
        description=_l("RFC 5545, e.g. FREQ=MONTHLY;BYDAY=2TU or FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"),
    )
    first_date = DateField(_l("First date"), validators=[InputRequired()])
    effective_from = DateField(
        _l("Changes to day, time or rule apply from"),
        validators=[Optional()],
        description=_l("Calls before this date keep the old timing; default: today."),
    )
    join_url = URLField(_l("Join link"), validators=[Optional(), Length(max=500)])
    registration_url = URLField(_l("Registration link"), validators=[Optional(), Length(max=500)])
    region = SelectField(_l("Region"), choices=[], validate_choice=False)
    display_cities = TextAreaField(
        _l("Display cities"),
        description=_l("One per line: Label | Area/Zone. Empty: the default cities."),
    )
    reminder_minutes = StringField(
        _l("Reminders (minutes before)"), default="1440, 30", validators=[Length(max=100)]
    )
    is_public = BooleanField(_l("Public (in feeds and on the home page)"), default=True)


class CallForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Length(max=200)])
    agenda = TextAreaField(_l("Agenda"), validators=[Length(max=20000)])
    join_url = URLField(_l("Join link"), validators=[Optional(), Length(max=500)])
    registration_url = URLField(_l("Registration link"), validators=[Optional(), Length(max=500)])
    recording_url = URLField(_l("Recording link"), validators=[Optional(), Length(max=500)])


class RescheduleForm(FlaskForm):
    start = StringField(
        _l("New start (local time)"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("Date and time on the wall clock of the time zone below."),
    )
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)])
    duration_minutes = IntegerField(
        _l("Duration (minutes)"), validators=[DataRequired(), NumberRange(1, 1440)]
    )
    end = StringField(
        _l("Or a new end (local time)"),
        validators=[Optional(), Length(max=40)],
        description=_l("When given, the duration is ignored."),
    )


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason (shown to members)"), validators=[Length(max=500)])


class ExtraCallForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Length(max=200)])
    series = SelectField(_l("Series"), choices=[], validate_choice=False)
    start = StringField(
        _l("Start (local time)"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("For example 2027-02-01T15:00, on the clock of the time zone below."),
    )
    timezone = StringField(
        _l("Time zone"), default="America/New_York", validators=[DataRequired(), Length(max=64)]
    )
    duration_minutes = IntegerField(
        _l("Duration (minutes)"), default=60, validators=[DataRequired(), NumberRange(1, 1440)]
    )
    agenda = TextAreaField(_l("Agenda"), validators=[Length(max=20000)])
    join_url = URLField(_l("Join link"), validators=[Optional(), Length(max=500)])
    registration_url = URLField(_l("Registration link"), validators=[Optional(), Length(max=500)])
    region = SelectField(_l("Region"), choices=[], validate_choice=False)
