"""Signed tokens in the links of mail: one salt per purpose, keys that can be rotated.

Tokens are signed with SECRET_KEY; tokens signed with a key listed in SECRET_KEY_FALLBACKS are
still accepted, so the secret can be rotated without breaking the links in mail already sent.
A confirmation token carries the subscriber's token version, which every change of
subscription bumps: a confirmation link works once, and never after an unsubscribe.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PURPOSES = ("confirm", "manage", "unsubscribe")
CONFIRM_MAX_AGE = 7 * 24 * 3600


class TokenError(ValueError):
    pass


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    config = current_app.config
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]  # newest last
    return URLSafeTimedSerializer(keys, salt=f"convene-mail-{purpose}")


def make(purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(purpose).dumps(payload)


def read(purpose: str, token: str, max_age: int | None = None) -> dict[str, Any]:
    """The token's payload; TokenError when it is forged, tampered with, expired or not one."""
    if len(token) > 500:
        raise TokenError("This link is not valid.")
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenError("This link has expired.") from None
    except BadSignature:
        raise TokenError("This link is not valid: it may have been cut short or changed.") from None
    if not isinstance(payload, dict):
        raise TokenError("This link is not valid.")
    return payload
