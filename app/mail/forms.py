"""The subscription form, for new subscribers and for changing a subscription; the admins'
mail settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange

from app.forms import options

from .models import DigestFrequency
from .services import LANGUAGES


class PreferencesForm(FlaskForm):
    regions = SelectMultipleField(
        _l("Regions"),
        choices=[],
        validate_choice=False,  # the service names an unknown region
        description=_l("None chosen: updates from every region."),
    )
    wants_reminders = BooleanField(_l("Reminders before each call"), default=True)
    wants_digests = BooleanField(_l("Digests of the notes after each call"), default=True)
    # Shown, and read, only while the monthly roll-up is on (see routes.py).
    digest_frequency = RadioField(
        _l("How often"),
        choices=options(
            [
                (DigestFrequency.PER_CALL.value, _l("After each call")),
                (
                    DigestFrequency.MONTHLY.value,
                    _l("Once a month, all the month's updates in one message"),
                ),
            ]
        ),
        default=DigestFrequency.PER_CALL.value,
    )
    timezone = StringField(
        _l("Time zone"),
        validators=[Length(max=64)],
        description=_l("Times in reminders are shown in it (an IANA name such as Africa/Nairobi)."),
    )
    language = SelectField(_l("Language"), choices=options((code, code) for code in LANGUAGES))


class SubscribeForm(PreferencesForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


class MailSettingsForm(FlaskForm):
    is_rollup_on = BooleanField(_l("Send a monthly roll-up to subscribers who choose it"))
    rollup_day = IntegerField(
        _l("Day of the month it goes out"),
        default=1,
        validators=[NumberRange(min=1, max=28, message=_l("Give a day from 1 to 28."))],
        description=_l("It holds the notes published in the month before."),
    )
