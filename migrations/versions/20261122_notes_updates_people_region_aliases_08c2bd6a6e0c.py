"""notes, updates, people, region aliases

Revision ID: 08c2bd6a6e0c
Revises: 3ff08c9a15ad
Create Date: 2026-11-22 08:23:47.129092

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '08c2bd6a6e0c'
down_revision: Union[str, Sequence[str], None] = '3ff08c9a15ad'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handle', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('home_region_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['home_region_id'], ['regions.id'], name=op.f('fk_people_home_region_id_regions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('handle', name=op.f('uq_people_handle'))
    )
    op.create_table('region_aliases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=120), nullable=False),
    sa.Column('normalized', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_region_aliases_region_id_regions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_region_aliases')),
    sa.UniqueConstraint('normalized', name=op.f('uq_region_aliases_normalized'))
    )
    with op.batch_alter_table('region_aliases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_region_aliases_region_id'), ['region_id'], unique=False)

    op.create_table('notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('recording_url', sa.String(length=500), nullable=False),
    sa.Column('tag_overrides', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'published')", name=op.f('ck_notes_status_known')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_notes_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_notes_call_id_calls'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes')),
    sa.UniqueConstraint('slug', name=op.f('uq_notes_slug'))
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notes_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_notes_status_published_at', ['status', 'published_at'], unique=False)

    op.create_table('note_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_note_revisions_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['note_id'], ['notes.id'], name=op.f('fk_note_revisions_note_id_notes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_note_revisions')),
    sa.UniqueConstraint('note_id', 'number', name=op.f('uq_note_revisions_note_id_number'))
    )
    with op.batch_alter_table('note_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_note_revisions_note_id'), ['note_id'], unique=False)

    op.create_table('updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('anchor', sa.String(length=120), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('auto_region_ids', sa.JSON(), nullable=False),
    sa.Column('suggested_region_ids', sa.JSON(), nullable=False),
    sa.Column('auto_handles', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['note_id'], ['notes.id'], name=op.f('fk_updates_note_id_notes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_updates')),
    sa.UniqueConstraint('note_id', 'anchor', name=op.f('uq_updates_note_id_anchor'))
    )
    with op.batch_alter_table('updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_updates_note_id'), ['note_id'], unique=False)

    op.create_table('update_regions',
    sa.Column('update_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_update_regions_region_id_regions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['update_id'], ['updates.id'], name=op.f('fk_update_regions_update_id_updates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('update_id', 'region_id', name=op.f('pk_update_regions'))
    )
    with op.batch_alter_table('update_regions', schema=None) as batch_op:
        batch_op.create_index('ix_update_regions_region_id', ['region_id'], unique=False)

    op.create_table('update_speakers',
    sa.Column('update_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_update_speakers_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['update_id'], ['updates.id'], name=op.f('fk_update_speakers_update_id_updates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('update_id', 'person_id', name=op.f('pk_update_speakers'))
    )
    with op.batch_alter_table('update_speakers', schema=None) as batch_op:
        batch_op.create_index('ix_update_speakers_person_id', ['person_id'], unique=False)

    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default='group'))
        batch_op.create_unique_constraint(batch_op.f('uq_regions_code'), ['code'])



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_regions_code'), type_='unique')
        batch_op.drop_column('kind')
        batch_op.drop_column('code')

    with op.batch_alter_table('update_speakers', schema=None) as batch_op:
        batch_op.drop_index('ix_update_speakers_person_id')

    op.drop_table('update_speakers')
    with op.batch_alter_table('update_regions', schema=None) as batch_op:
        batch_op.drop_index('ix_update_regions_region_id')

    op.drop_table('update_regions')
    with op.batch_alter_table('updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_updates_note_id'))

    op.drop_table('updates')
    with op.batch_alter_table('note_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_note_revisions_note_id'))

    op.drop_table('note_revisions')
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_index('ix_notes_status_published_at')
        batch_op.drop_index(batch_op.f('ix_notes_call_id'))

    op.drop_table('notes')
    with op.batch_alter_table('region_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_region_aliases_region_id'))

    op.drop_table('region_aliases')
    op.drop_table('people')
