"""`flask mail ...`: drain the outbox by hand, and see what is in it."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from app.db import db

from . import outbox
from .models import Delivery
from .transport import transport_for

mail_cli = AppGroup("mail", help="Subscription mail and its outbox.")


def sending() -> outbox.Sending:
    """The app's mail settings, as every message needs them."""
    config = current_app.config
    host = urlsplit(config["BASE_URL"]).hostname or "localhost"
    name = config["COALITION_NAME"]
    return outbox.Sending(
        name=name,
        sender=config["MAIL_FROM"],
        list_id=f"{name} <calls.{host}>",
        domain=host,
        base_url=config["BASE_URL"],
    )


@mail_cli.command("send")
@click.option("--limit", default=500, show_default=True, help="Most messages to send.")
def send_command(limit: int) -> None:
    """Send the deliveries that are due (the scheduler does this every few seconds)."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    report = outbox.send_due(db.session, transport_for(current_app), sending(), worker, limit)
    click.echo(
        f"{report.sent} sent, {report.retried} to retry, {report.failed} failed,"
        f" {report.skipped} with nothing to send."
    )


@mail_cli.command("outbox")
def outbox_command() -> None:
    """Count the deliveries by kind and status."""
    rows = db.session.execute(
        sa.select(Delivery.kind, Delivery.status, sa.func.count())
        .group_by(Delivery.kind, Delivery.status)
        .order_by(Delivery.kind, Delivery.status)
    )
    for kind, status, count in rows:
        click.echo(f"{kind:14} {status:10} {count}")
