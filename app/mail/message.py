"""Building mail: EmailMessage with the headers subscription mail needs, serialized unencoded.

Python's email package encodes any header longer than about 76 characters as =?utf-8?q?...?=,
which breaks one-click unsubscribe in Gmail; serializing with the SMTP policy and a line length
of 998 (RFC 5322's limit) keeps List-Unsubscribe as written.
"""

from __future__ import annotations

import dataclasses
import email.policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

SMTP_POLICY = email.policy.SMTP.clone(max_line_length=998)


@dataclasses.dataclass
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Mail:
    """What a message says, before it is addressed and serialized."""

    subject: str
    text: str
    html: str = ""
    unsubscribe_url: str = ""  # subscription mail: List-Unsubscribe with one-click POST
    attachments: list[Attachment] = dataclasses.field(default_factory=list)


def build(
    mail: Mail, sender: str, recipient: str, *, list_id: str, domain: str
) -> tuple[str, bytes]:
    """The message's Message-ID and bytes, ready for SMTP `sendmail`.

    EmailMessage refuses CR or LF in a header value, so no text can add a header."""
    message = EmailMessage(policy=SMTP_POLICY)
    message_id = make_msgid(domain=domain)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    message["List-Id"] = list_id
    if mail.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.text)  # plain text first, then HTML
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
            params=attachment.params,
        )
    return message_id, message.as_bytes(policy=SMTP_POLICY)
