"""The note editor's, tag editor's and history page's forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp

from app.forms import options

from .services import LANGUAGES


class NoteForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    call_id = SelectField(_l("Call"), choices=[], validate_choice=False)
    status = SelectField(
        _l("Status"), choices=options([("draft", _l("Draft")), ("published", _l("Published"))])
    )
    language = SelectField(_l("Language"), choices=options((code, code) for code in LANGUAGES))
    recording_url = URLField(_l("Recording link"), validators=[Optional(), Length(max=500)])
    body = TextAreaField(
        _l("Notes (Markdown)"),
        validators=[Length(max=200_000)],
        description=_l(
            "Titles (with or without #) and bullets naming a region start an update; "
            "@handles name speakers."
        ),
    )
    base_revision = HiddenField()  # the revision the editor opened
    # After a refused save: the newer revision the editor was shown the difference with, which
    # only the "overwrite" button saves over (Save keeps the revision opened, and is refused).
    overwrite_revision = HiddenField()
    overwrite = SubmitField(_l("Overwrite with my version"))


class UpdateTagsForm(FlaskForm):
    regions = StringField(
        _l("Regions"),
        validators=[Length(max=2000)],
        description=_l(
            "The regions the update is about: slugs, separated by commas (e.g. west-africa, kenya)."
        ),
    )
    mentions = StringField(
        _l("Mentions"),
        validators=[Length(max=2000)],
        description=_l("Places its text mentions: region slugs, separated by commas."),
    )
    speakers = StringField(
        _l("Speakers"),
        validators=[Length(max=2000)],
        description=_l("Handles, separated by commas (e.g. @rina, @kofi_m)."),
    )


class RestoreForm(FlaskForm):
    """Restore a revision: the note's revision when the history was opened, so that restoring
    over a change made since is refused."""

    base_revision = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]{1,9}$")])
