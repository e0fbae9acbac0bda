"""updates: the heading that groups them ("## Regional updates") and whether they sit under it

Notes saved before keep showing their updates without the group headings until they are saved
or imported again with changes.

Revision ID: 6d1f0b8e4a92
Revises: e3b9a4c7d215
Create Date: 2026-12-01 12:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6d1f0b8e4a92"
down_revision: str | Sequence[str] | None = "e3b9a4c7d215"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch mode: on SQLite its copy-and-drop of `updates` would
    # cascade-delete the updates' tags).
    op.add_column("updates", sa.Column("group_title", sa.String(length=300), nullable=True))
    op.add_column(
        "updates",
        sa.Column("in_group", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    # In place (SQLite since 3.35): a batch copy would cascade to the updates' tags.
    op.drop_column("updates", "in_group")
    op.drop_column("updates", "group_title")
