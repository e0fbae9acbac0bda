"""cache version rows for every topic

The "notes" topic had no row, so bumping it changed nothing and other processes kept serving
cached note pages and feeds until they restarted. Every topic of app.cache.TOPIC_MODELS needs
its row; tests/test_cache.py checks that they exist.

Revision ID: c4e1f0a9b2d7
Revises: 7b3d52e1a0c4
Create Date: 2026-12-01 11:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e1f0a9b2d7"
down_revision: str | Sequence[str] | None = "7b3d52e1a0c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOPICS = ("notes",)


def upgrade() -> None:
    versions = sa.table("cache_versions", sa.column("topic", sa.String), sa.column("version"))
    existing = set(op.get_bind().scalars(sa.select(versions.c.topic)))
    op.bulk_insert(
        versions, [{"topic": topic, "version": 0} for topic in TOPICS if topic not in existing]
    )


def downgrade() -> None:
    versions = sa.table("cache_versions", sa.column("topic", sa.String))
    op.execute(versions.delete().where(versions.c.topic.in_(TOPICS)))
