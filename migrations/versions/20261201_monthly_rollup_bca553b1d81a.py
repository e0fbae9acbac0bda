"""monthly roll-up: mail settings, and how often each subscriber wants digests

The column is added with one ALTER TABLE ... ADD COLUMN that carries its CHECK constraint:
both databases accept it, and on SQLite it avoids batch mode, whose copy-and-drop of
`subscribers` would cascade-delete its deliveries and regions (foreign keys are on).

Revision ID: bca553b1d81a
Revises: c4e1f0a9b2d7
Create Date: 2026-12-01 12:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "bca553b1d81a"
down_revision: str | Sequence[str] | None = "c4e1f0a9b2d7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    settings = op.create_table(
        "mail_settings",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("is_rollup_on", sa.Boolean(), nullable=False),
        sa.Column("rollup_day", sa.Integer(), nullable=False),
        sa.Column("rollup_switched_on_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_mail_settings_one_row")),
        sa.CheckConstraint(
            "rollup_day BETWEEN 1 AND 28",
            name=op.f("ck_mail_settings_rollup_day_in_every_month"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_settings")),
    )
    # The one row, so that two admins saving at once update it rather than both inserting it.
    op.execute(
        settings.insert().values(
            id=1, is_rollup_on=False, rollup_day=1, updated_at=sa.func.current_timestamp()
        )
    )
    op.execute(
        "ALTER TABLE subscribers ADD COLUMN digest_frequency VARCHAR(10) DEFAULT 'call' NOT NULL"
        " CONSTRAINT ck_subscribers_digest_frequency_known"
        " CHECK (digest_frequency IN ('call', 'month'))"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE subscribers DROP COLUMN digest_frequency")
    op.drop_table("mail_settings")
