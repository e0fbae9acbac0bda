"""Imports every domain's models so that Base.metadata knows the whole schema."""

from __future__ import annotations


def import_all_models() -> None:
    from app.auth import models as auth_models  # noqa: F401
