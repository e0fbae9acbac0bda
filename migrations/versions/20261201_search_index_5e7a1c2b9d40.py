"""search index: SQLite FTS5 or PostgreSQL tsvector, filled from the published updates

The search tables belong to the search backends, not to the models (app/search/backends.py),
and differ by database; the models-and-migrations comparison leaves out tables named search_*.

Revision ID: 5e7a1c2b9d40
Revises: 08c2bd6a6e0c
Create Date: 2026-12-01 10:30:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "5e7a1c2b9d40"
down_revision: str | Sequence[str] | None = "08c2bd6a6e0c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# bm25 weights of the FTS5 columns: title, body, note_title, people, places, keys, day.
SQLITE_RANK = "bm25(8.0, 1.0, 3.0, 4.0, 4.0, 0.0, 0.0)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()
    # The index starts empty: `flask search reindex` fills it from the notes already stored
    # (new and edited notes are indexed as they are saved).


def _upgrade_sqlite() -> None:
    op.execute(
        "CREATE TABLE search_documents ("
        " update_id INTEGER NOT NULL PRIMARY KEY,"
        " note_id INTEGER NOT NULL,"
        " day VARCHAR(10) NOT NULL,"
        " language VARCHAR(16) NOT NULL)"
    )
    op.execute("CREATE INDEX ix_search_documents_note_id ON search_documents (note_id)")
    op.execute("CREATE INDEX ix_search_documents_day ON search_documents (day, update_id)")
    op.execute(
        "CREATE VIRTUAL TABLE search_fts USING fts5("
        "title, body, note_title, people, places, keys, day UNINDEXED,"
        " tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    op.execute(f"INSERT INTO search_fts (search_fts, rank) VALUES ('rank', '{SQLITE_RANK}')")


def _upgrade_postgresql() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE TEXT SEARCH CONFIGURATION convene (COPY = english)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION convene"
        " ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem"
    )
    op.execute(
        "CREATE TABLE search_documents ("
        " update_id INTEGER NOT NULL PRIMARY KEY,"
        " note_id INTEGER NOT NULL,"
        " title TEXT NOT NULL,"
        " body TEXT NOT NULL,"
        " note_title TEXT NOT NULL,"
        " people TEXT NOT NULL,"
        " places TEXT NOT NULL,"
        " region_ids INTEGER[] NOT NULL,"
        " speaker_ids INTEGER[] NOT NULL,"
        " series_ids INTEGER[] NOT NULL,"
        " language VARCHAR(16) NOT NULL,"
        " day DATE NOT NULL,"
        " tsv TSVECTOR NOT NULL)"
    )
    op.execute("CREATE INDEX ix_search_documents_note_id ON search_documents (note_id)")
    op.execute("CREATE INDEX ix_search_documents_day ON search_documents (day, update_id)")
    op.execute("CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)")
    for column in ("region_ids", "speaker_ids", "series_ids"):
        op.execute(
            f"CREATE INDEX ix_search_documents_{column} ON search_documents USING gin ({column})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE search_documents")
        op.execute("DROP TEXT SEARCH CONFIGURATION convene")
    else:
        op.execute("DROP TABLE search_fts")
        op.execute("DROP TABLE search_documents")
