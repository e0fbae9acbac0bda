"""`flask scheduler run`: the process that regenerates calls and sends reminders and digests."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .runner import Runner

scheduler_cli = AppGroup("scheduler", help="The scheduler process.")


@scheduler_cli.command("run")
@click.option("--once", is_flag=True, help="Run every job once and exit (if this process leads).")
def run_command(once: bool) -> None:
    """Run the jobs: calls regenerated daily, reminders and digests enqueued every minute, the
    outbox drained every few seconds. Several may run; one leads, the others stand by."""
    runner = Runner(current_app._get_current_object())  # type: ignore[attr-defined]
    if once:
        try:
            ran = runner.run_once()
        finally:
            runner.leadership.resign()
        click.echo("Ran every job once." if ran else "Another scheduler leads: nothing run.")
        return
    click.echo(f"Scheduler {runner.process} running; Ctrl+C stops it.")
    runner.run_forever()
