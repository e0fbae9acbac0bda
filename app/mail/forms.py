"""The subscription form, for new subscribers and for changing a subscription."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

from app.forms import options

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
    timezone = StringField(
        _l("Time zone"),
        validators=[Length(max=64)],
        description=_l("Times in reminders are shown in it (an IANA name such as Africa/Nairobi)."),
    )
    language = SelectField(_l("Language"), choices=options((code, code) for code in LANGUAGES))


class SubscribeForm(PreferencesForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
