"""Building mail: the MIME bytes of a message, with the headers subscription mail needs.

Written out directly rather than through EmailMessage: EmailMessage's header registry and
generator cost about 5 ms a message here, more than sending it, and a digest goes to every
subscriber. What EmailMessage gave is kept: no header value may hold CR, LF or NUL (ValueError,
so no text can add a header), non-ASCII subjects and names are RFC 2047 encoded, bodies are
quoted-printable UTF-8 with lines under 76 characters, and List-Unsubscribe stays on one line
unencoded (Python's email package would encode a header longer than 76 characters as
=?utf-8?q?...?=, which breaks one-click unsubscribe in Gmail). Tests parse every message back
with the standard library's parser.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import uuid
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr


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


def _checked(name: str, value: str) -> str:
    if any(char in value for char in "\r\n\x00"):
        raise ValueError(f"The {name} header may not hold a line break.")
    return value


def _encoded(name: str, value: str) -> str:
    """The value as an ASCII header value: RFC 2047 when it is not ASCII."""
    _checked(name, value)
    if value.isascii():
        return value
    return Header(value, "utf-8", header_name=name).encode(maxlinelen=998)


@functools.lru_cache(maxsize=64)
def _address(name: str, value: str) -> str:
    """`value` as a From or To header: an address, or a name and an address."""
    _checked(name, value)
    display, address = parseaddr(value)
    if not address or not address.isascii():
        raise ValueError(f"The {name} header needs an ASCII address, not {value[:60]!r}.")
    return formataddr((display, address), charset="utf-8") if display else address


def _recipient(address: str) -> str:
    """A subscriber's address, as stored (checked when they subscribed), checked again."""
    if "@" in address and address.isascii() and not any(c in address for c in ' <>"\r\n\x00,'):
        return address
    return _address("To", address)


def _text_part(subtype: str, text: str) -> bytes:
    text = text.replace("\r\n", "\n")
    if not text.endswith("\n"):
        text += "\n"  # as EmailMessage.set_content does
    body = binascii.b2a_qp(text.encode(), istext=True)
    return (
        f"Content-Type: text/{subtype}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + body.replace(b"\n", b"\r\n")


def _attachment_part(attachment: Attachment) -> bytes:
    params = "".join(
        f"; {_checked('Content-Type', key)}={_checked('Content-Type', value)}"
        for key, value in attachment.params.items()
    )
    filename = _checked("Content-Disposition", attachment.filename).replace('"', "")
    header = (
        f"Content-Type: {attachment.maintype}/{attachment.subtype}{params}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="{filename}"\r\n\r\n'
    )
    return header.encode() + base64.encodebytes(attachment.content).replace(b"\n", b"\r\n")


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    boundary = f"=_{uuid.uuid4().hex}"
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'
    return head.encode() + body + b"--" + boundary.encode() + b"--\r\n"


def build(
    mail: Mail, sender: str, recipient: str, *, list_id: str, domain: str
) -> tuple[str, bytes]:
    """The message's Message-ID and bytes, ready for SMTP `sendmail`.

    Plain text first, then HTML (multipart/alternative), then any attachments
    (multipart/mixed around them)."""
    message_id = make_msgid(domain=domain)
    headers = [
        ("From", _address("From", sender)),
        ("To", _recipient(recipient)),
        ("Subject", _encoded("Subject", mail.subject)),
        ("Date", formatdate(localtime=False, usegmt=True)),
        ("Message-ID", message_id),
        ("List-Id", _encoded("List-Id", list_id)),
        ("MIME-Version", "1.0"),
    ]
    if mail.unsubscribe_url:
        url = _checked("List-Unsubscribe", mail.unsubscribe_url)
        if not url.isascii():
            raise ValueError("The unsubscribe URL must be ASCII.")
        headers.append(("List-Unsubscribe", f"<{url}>"))
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    body = _text_part("plain", mail.text)
    if mail.html:
        body = _multipart("alternative", [body, _text_part("html", mail.html)])
    if mail.attachments:
        body = _multipart("mixed", [body, *map(_attachment_part, mail.attachments)])
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return message_id, head.encode() + body
