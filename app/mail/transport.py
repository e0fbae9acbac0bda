"""Where mail goes: an SMTP server (one connection per batch), or files in an outbox folder.

A transport's `send` raises TransientError for what may work later (4xx replies, a lost
connection) and PermanentError for what never will (a 5xx refusal of the recipient).
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from flask import Flask


class TransientError(Exception):
    pass


class PermanentError(Exception):
    pass


class Connection(Protocol):
    def send(self, sender: str, recipient: str, message_id: str, data: bytes) -> None: ...


class Transport(Protocol):
    def connect(self) -> contextlib.AbstractContextManager[Connection]: ...


class SMTPConnection:
    def __init__(self, client: smtplib.SMTP) -> None:
        self.client = client

    def send(self, sender: str, recipient: str, message_id: str, data: bytes) -> None:
        try:
            refused = self.client.sendmail(sender, [recipient], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = exc.recipients.get(recipient, (550, b"refused"))
            raise _classified(code, reply) from None
        except smtplib.SMTPResponseException as exc:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.client.rset()  # the connection stays usable for the next recipient
            raise _classified(exc.smtp_code, exc.smtp_error) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise TransientError(f"connection lost: {exc}") from None
        if refused:  # pragma: no cover - one recipient: refused means the exception above
            code, reply = refused[recipient]
            raise _classified(code, reply)


def _classified(code: int, reply: bytes | str) -> Exception:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    error = f"{code} {text}"[:500]
    return PermanentError(error) if 500 <= code < 600 else TransientError(error)


class SMTPTransport:
    def __init__(
        self,
        host: str,
        port: int,
        username: str = "",
        password: str = "",
        use_tls: bool = False,
        timeout: float = 30,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.username, self.password, self.use_tls = username, password, use_tls

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        try:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except OSError as exc:
            raise TransientError(f"cannot reach {self.host}:{self.port}: {exc}") from None
        try:
            if self.use_tls:
                client.starttls()
            if self.username:
                client.login(self.username, self.password)
            yield SMTPConnection(client)
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()


class FolderConnection:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, sender: str, recipient: str, message_id: str, data: bytes) -> None:
        """Write the message as NAME.eml, atomically (a temporary file, then a rename)."""
        name = message_id.strip("<>").replace("/", "_").replace("@", "_at_")
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, self.directory / f"{name}.eml")


class FolderTransport:
    """The development default: each message a file in a folder, to open in any mail program."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        self.directory.mkdir(parents=True, exist_ok=True)
        yield FolderConnection(self.directory)


def transport_for(app: Flask) -> Transport:
    config = app.config
    if config["MAIL_SERVER"]:
        return SMTPTransport(
            config["MAIL_SERVER"],
            config["MAIL_PORT"],
            config["MAIL_USERNAME"],
            config["MAIL_PASSWORD"],
            config["MAIL_USE_TLS"],
        )
    if not config["MAIL_OUTBOX_DIR"]:
        raise RuntimeError("Set MAIL_SERVER or MAIL_OUTBOX_DIR to send mail.")
    return FolderTransport(config["MAIL_OUTBOX_DIR"])
