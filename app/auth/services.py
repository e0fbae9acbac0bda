"""Team accounts: creating users, checking passwords, changing roles."""

from __future__ import annotations

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from app.db import utcnow
from app.i18n import is_valid_timezone

from .models import Role, User

MIN_PASSWORD_LENGTH = 10

hasher = PasswordHasher()
# Verified against when the email is unknown, so that a miss costs as long as a wrong password.
_DUMMY_HASH = hasher.hash("not a real password")


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""


def normalize_email(email: str) -> str:
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(f"Invalid email address: {exc}") from None
    return result.normalized.lower()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(
            f"Unknown role {role!r}: choose {' or '.join(r.value for r in Role)}."
        ) from None


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def get_user(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise AccountError(f"No user with email {email!r}.")
    return user


def create_user(
    session: Session, *, email: str, name: str, password: str, role: str = Role.EDITOR
) -> User:
    email = normalize_email(email)
    if not name.strip():
        raise AccountError("The name must not be empty.")
    check_password_strength(password)
    if find_user(session, email) is not None:
        raise AccountError(f"A user with email {email} already exists.")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hasher.hash(password),
        role=parse_role(role).value,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = hasher.hash(password)
    session.flush()


def set_role(session: Session, user: User, role: str) -> None:
    user.role = parse_role(role).value
    session.flush()


def set_active(session: Session, user: User, is_active: bool) -> None:
    user.is_active = is_active
    session.flush()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Upgrades outdated hashes."""
    user = find_user(session, email)
    try:
        hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def update_profile(
    session: Session, user: User, *, name: str, locale: str | None, timezone: str | None
) -> None:
    """Change a user's own name, language and time zone."""
    if not name.strip():
        raise AccountError("The name must not be empty.")
    timezone = (timezone or "").strip()
    if timezone and not is_valid_timezone(timezone):
        raise AccountError(f"{timezone!r} is not a known time zone (e.g. Europe/Brussels).")
    user.name = name.strip()
    user.locale = locale or None
    user.timezone = timezone or None
    session.flush()


def list_users(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).order_by(User.email)))
