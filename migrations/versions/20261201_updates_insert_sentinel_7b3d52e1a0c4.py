"""updates: an insert sentinel column, so that the ORM inserts a note's updates in one statement

SQLite gives the rows of a multi-row INSERT ... RETURNING in no promised order, so to learn each
new update's id the ORM inserted updates one statement each; with a sentinel column (filled with
the row's place in the batch, read by nothing else) it sends one statement for all of a note's
new updates and matches the returned ids by it. On PostgreSQL it changes nothing of note.

Revision ID: 7b3d52e1a0c4
Revises: 410a335f2708
Create Date: 2026-12-01 11:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b3d52e1a0c4"
down_revision: str | Sequence[str] | None = "410a335f2708"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("updates", sa.Column("_sentinel", sa.Integer(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place since 3.35 (a batch operation would copy the table, and
    # dropping the old one would cascade to the updates' tags).
    op.drop_column("updates", "_sentinel")
