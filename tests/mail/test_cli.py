"""`flask mail send` drains the outbox (here into the outbox folder); `flask mail outbox` counts."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session


def test_send_writes_each_message_once_to_the_outbox_folder(
    app: Flask, runner: Any, session: Session, queued_confirmation: Path
) -> None:
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    (path,) = queued_confirmation.glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "amina@example.org"
    assert "/email/confirm/" in message.get_body(("plain",)).get_content()
    assert "0 sent" in runner.invoke(args=["mail", "send"]).output
    assert len(list(queued_confirmation.glob("*.eml"))) == 1
    outbox = runner.invoke(args=["mail", "outbox"]).output
    assert outbox.split() == ["confirmation", "sent", "1"]
