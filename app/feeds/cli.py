"""`flask feeds ...`: publishing the feeds as static files."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .publish import publish_app

feeds_cli = AppGroup("feeds", help="Publish the calendar and Atom feeds.")


@feeds_cli.command("publish")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def publish_command(directory: Path) -> None:
    """Write every subscription feed below DIRECTORY (only files whose bytes changed), and
    remove the files of feeds that no longer exist."""
    directory.mkdir(parents=True, exist_ok=True)
    report = publish_app(current_app._get_current_object(), directory)  # type: ignore[attr-defined]
    click.echo(
        f"{len(report.written)} written, {report.unchanged} unchanged, "
        f"{len(report.removed)} removed, in {directory}"
    )
