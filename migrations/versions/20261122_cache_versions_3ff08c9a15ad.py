"""cache versions

Revision ID: 3ff08c9a15ad
Revises: f412c9d1ef7d
Create Date: 2026-11-22 08:15:34.889595

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '3ff08c9a15ad'
down_revision: Union[str, Sequence[str], None] = 'f412c9d1ef7d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('cache_versions',
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('topic', name=op.f('pk_cache_versions'))
    )
    versions = sa.table('cache_versions', sa.column('topic', sa.String), sa.column('version', sa.BigInteger))
    op.bulk_insert(versions, [{'topic': 'schedule', 'version': 0}])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('cache_versions')
