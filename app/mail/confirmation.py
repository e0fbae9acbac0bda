"""The confirmation mail of double opt-in: one link to confirm, or to manage an existing
subscription. Not subscription mail, so it carries no List-Unsubscribe."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy.orm import Session

from . import services
from .message import Mail
from .models import Subscriber, SubscriberStatus
from .outbox import Sending, renderer


@renderer("confirmation")
def render_confirmation(
    session: Session, subject: str, subscribers: Sequence[Subscriber], sending: Sending
) -> dict[int, Mail]:
    return {subscriber.id: confirmation_mail(subscriber, sending) for subscriber in subscribers}


def confirmation_mail(subscriber: Subscriber, sending: Sending) -> Mail:
    with force_locale(subscriber.language):
        if subscriber.status == SubscriberStatus.ACTIVE:
            url = f"{sending.base_url}/email/manage/{services.manage_token(subscriber)}"
            subject = _("Your subscription to %(list)s", list=sending.name)
            lead = _("You are already subscribed. To change what you receive, open:")
        else:
            url = f"{sending.base_url}/email/confirm/{services.confirm_token(subscriber)}"
            subject = _("Confirm your subscription to %(list)s", list=sending.name)
            lead = _("To receive call reminders and digests, confirm your address:")
        ignore = _("If you did not ask for this, ignore this message: nothing will be sent.")
    text = f"{lead}\n\n{url}\n\n{ignore}\n"
    html = (
        f'<p>{escape(lead)}</p>\n<p><a href="{escape(url)}">{escape(url)}</a></p>\n'
        f"<p>{escape(ignore)}</p>\n"
    )
    return Mail(subject=subject, text=text, html=html)
