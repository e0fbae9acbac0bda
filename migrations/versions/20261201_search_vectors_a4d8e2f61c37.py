"""search: on PostgreSQL, each update's tsvector again in a table of its own, kept in its row

`search_documents.tsv` is toasted (about 5.6 kB for 600 words): ranking a match reads it from
the TOAST table, a lookup and three chunks per match, and a phrase's recheck does the same.
`search_vectors` keeps a copy in the row itself (STORAGE MAIN: compressed in place), with a
GIN index of its own, so the page of results is matched and ranked from one heap row per
match. `search_documents` keeps its narrow rows and its own index for the facets, which read
the matches' days and regions and never their words. SQLite needs nothing.

Revision ID: a4d8e2f61c37
Revises: 6d1f0b8e4a92
Create Date: 2026-12-01 16:45:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "a4d8e2f61c37"
down_revision: str | Sequence[str] | None = "6d1f0b8e4a92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE search_vectors ("
        " update_id INTEGER NOT NULL PRIMARY KEY"
        " REFERENCES search_documents (update_id) ON DELETE CASCADE,"
        " tsv TSVECTOR NOT NULL)"
    )
    op.execute("ALTER TABLE search_vectors ALTER COLUMN tsv SET STORAGE MAIN")
    op.execute(
        "INSERT INTO search_vectors (update_id, tsv) SELECT update_id, tsv FROM search_documents"
    )
    op.execute("CREATE INDEX ix_search_vectors_tsv ON search_vectors USING gin (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE search_vectors")
