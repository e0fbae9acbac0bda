"""Helpers shared by the forms of every domain."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms.fields.choices import SelectChoice


def options(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs (WTForms no longer takes bare tuples)."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]
