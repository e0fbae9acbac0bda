"""`flask users ...`: manage campaign-team accounts from the command line.

Passwords are never command-line arguments (they would land in shell history and `ps`): they are
asked for at the terminal, or read from the first line of standard input when it is not a terminal.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.db import db

from . import services
from .models import Role

users_cli = AppGroup("users", help="Manage campaign-team accounts.")

ROLE_CHOICE = click.Choice([role.value for role in Role])


def read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line:
        raise click.ClickException("No password on standard input.")
    return line.rstrip("\r\n")


def _run(action):  # type: ignore[no-untyped-def]
    """Run `action` in one transaction; an AccountError becomes a clear CLI error."""
    try:
        result = action()
        db.session.commit()
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    return result


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=ROLE_CHOICE, default=Role.EDITOR.value, show_default=True)
def create_command(email: str, name: str, role: str) -> None:
    """Create an account; the password is asked for (or read from stdin)."""
    password = read_password()
    user = _run(
        lambda: services.create_user(
            db.session, email=email, name=name, password=password, role=role
        )
    )
    click.echo(f"Created {user.role} {user.email}.")


@users_cli.command("list")
def list_command() -> None:
    """List accounts."""
    for user in services.list_users(db.session):
        state = "active" if user.is_active else "inactive"
        click.echo(f"{user.email}\t{user.name}\t{user.role}\t{state}")


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=ROLE_CHOICE)
def set_role_command(email: str, role: str) -> None:
    """Change an account's role."""
    _run(lambda: services.set_role(db.session, services.get_user(db.session, email), role))
    click.echo(f"{email} is now {role}.")


@users_cli.command("set-password")
@click.argument("email")
def set_password_command(email: str) -> None:
    """Set an account's password; asked for (or read from stdin)."""
    user = _run(lambda: services.get_user(db.session, email))
    password = read_password()
    _run(lambda: services.set_password(db.session, user, password))
    click.echo(f"Password changed for {user.email}.")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """Deactivate an account: it can no longer sign in, and open sessions end."""
    _run(lambda: services.set_active(db.session, services.get_user(db.session, email), False))
    click.echo(f"{email} is deactivated.")


@users_cli.command("activate")
@click.argument("email")
def activate_command(email: str) -> None:
    """Reactivate an account."""
    _run(lambda: services.set_active(db.session, services.get_user(db.session, email), True))
    click.echo(f"{email} is active again.")
