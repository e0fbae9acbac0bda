"""`flask users ...` commands."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.auth.models import User

from ..conftest import PASSWORD


def _users(session: Session) -> dict[str, User]:
    session.expire_all()
    return {user.email: user for user in session.scalars(sa.select(User))}


def test_create_reads_the_password_from_stdin(runner: Any, session: Session, auth: Any) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Rina@Example.org",
            "--name",
            "Rina",
            "--role",
            "admin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin rina@example.org" in result.output
    user = _users(session)["rina@example.org"]
    assert user.role == "admin" and PASSWORD not in user.password_hash
    assert auth.login("rina@example.org").status_code == 302


def test_password_is_never_an_argument(runner: Any, session: Session) -> None:
    result = runner.invoke(
        args=["users", "create", "--email", "a@example.org", "--name", "A", "--password", PASSWORD]
    )
    assert result.exit_code == 2
    assert "No such option" in result.output
    assert _users(session) == {}


def test_bad_input_changes_nothing(runner: Any, session: Session) -> None:
    cases = [
        (["--email", "a@example.org", "--name", "A"], "short", "at least 10 characters"),
        (["--email", "not-an-address", "--name", "A"], PASSWORD, "Invalid email address"),
        (["--email", "a@example.org", "--name", " "], PASSWORD, "name must not be empty"),
    ]
    for args, password, message in cases:
        result = runner.invoke(args=["users", "create", *args], input=password + "\n")
        assert result.exit_code == 1, result.output
        assert message in result.output
    assert _users(session) == {}


def test_duplicate_email_is_refused(runner: Any, make_user: Any) -> None:
    make_user("kofi@example.org")
    result = runner.invoke(
        args=["users", "create", "--email", "KOFI@example.org", "--name", "K"], input=PASSWORD
    )
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_list_set_role_deactivate(runner: Any, make_user: Any, session: Session) -> None:
    make_user("kofi@example.org", name="Kofi")
    result = runner.invoke(args=["users", "list"])
    assert "kofi@example.org\tKofi\teditor\tactive" in result.output

    result = runner.invoke(args=["users", "set-role", "kofi@example.org", "admin"])
    assert result.exit_code == 0, result.output
    assert _users(session)["kofi@example.org"].role == "admin"

    result = runner.invoke(args=["users", "set-role", "kofi@example.org", "owner"])
    assert result.exit_code == 2
    assert "'owner' is not one of" in result.output

    result = runner.invoke(args=["users", "deactivate", "kofi@example.org"])
    assert result.exit_code == 0
    assert _users(session)["kofi@example.org"].is_active is False
    assert "inactive" in runner.invoke(args=["users", "list"]).output

    result = runner.invoke(args=["users", "deactivate", "nobody@example.org"])
    assert result.exit_code == 1
    assert "No user with email" in result.output


def test_set_password(runner: Any, make_user: Any, auth: Any) -> None:
    make_user("kofi@example.org")
    new_password = "a brand new passphrase"
    result = runner.invoke(args=["users", "set-password", "kofi@example.org"], input=new_password)
    assert result.exit_code == 0, result.output
    assert auth.login("kofi@example.org").status_code == 401
    assert auth.login("kofi@example.org", new_password).status_code == 302


def test_demo_prints_a_login_that_works(runner: Any, auth: Any) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    email, password = result.output.split("Admin login: ", 1)[1].strip().split(" / ")
    assert auth.login(email, password).status_code == 302
    auth.logout()
    # Running it again resets the password: the new one works, the old one no longer does.
    again = runner.invoke(args=["demo"]).output.split(" / ", 1)[1].strip()
    assert auth.login(email, password).status_code == 401
    assert auth.login(email, again).status_code == 302
