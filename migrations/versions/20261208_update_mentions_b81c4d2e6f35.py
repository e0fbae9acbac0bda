"""updates: the places their text mentions apart from the regions they are about, and their
presenters; "Congo" names Central Africa, "Turkey" and "Niger Delta" name their countries

Updates saved before have no mentions: all their regions read as what they are about until
`flask notes retag` splits and tags every note again.

Revision ID: b81c4d2e6f35
Revises: a4d8e2f61c37
Create Date: 2026-12-08 01:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b81c4d2e6f35"
down_revision: str | Sequence[str] | None = "a4d8e2f61c37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("auto_mention_ids", "mention_region_ids", "presenter_handles")
# (alias, its normalized form, the code of the region it names)
ALIASES = (
    ("Congo", "congo", "017"),
    ("Turkey", "turkey", "TR"),
    ("Niger Delta", "niger delta", "NG"),
)


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch mode: on SQLite its copy-and-drop of `updates` would
    # cascade-delete the updates' tags).
    for name in COLUMNS:
        op.add_column(
            "updates", sa.Column(name, sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
    connection = op.get_bind()
    for alias, normalized, code in ALIASES:
        region_id = connection.scalar(
            sa.text("SELECT id FROM regions WHERE code = :c"), {"c": code}
        )
        if region_id is None:
            continue  # a database whose tree is not seeded yet: `flask regions seed` adds them
        existing = connection.execute(
            sa.text("SELECT id FROM region_aliases WHERE normalized = :n"), {"n": normalized}
        ).first()
        if existing is not None:
            connection.execute(
                sa.text("UPDATE region_aliases SET region_id = :r, alias = :a WHERE id = :i"),
                {"r": region_id, "a": alias, "i": existing[0]},
            )
        else:
            connection.execute(
                sa.text(
                    "INSERT INTO region_aliases (region_id, alias, normalized) VALUES (:r, :a, :n)"
                ),
                {"r": region_id, "a": alias, "n": normalized},
            )


def downgrade() -> None:
    # In place (SQLite since 3.35): a batch copy would cascade to the updates' tags. The
    # aliases stay: they name the same places as before.
    for name in reversed(COLUMNS):
        op.drop_column("updates", name)
