"""search: a year token (y<year>) in each SQLite FTS5 row's keys, for the year facet

The year facet counts each year's matches with one FTS5 count, as the region facet does; the
rows already indexed get their token here. PostgreSQL counts years from its `day` column and
needs nothing.

Revision ID: e3b9a4c7d215
Revises: bca553b1d81a
Create Date: 2026-12-01 12:40:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "e3b9a4c7d215"
down_revision: str | Sequence[str] | None = "bca553b1d81a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE search_fts SET keys = keys || ' y' || substr(day, 1, 4)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "UPDATE search_fts SET keys = substr(keys, 1, length(keys) - 6)"
            " WHERE keys LIKE '% y____'"
        )
