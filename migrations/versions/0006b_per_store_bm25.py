"""vector stores: one full-text index per store, so BM25 statistics are the store's own

Revision ID: 0006b
Revises: 0005h
Create Date: 2026-12-02 21:10:00

SQLite only. 0004v indexed every store's chunks in one FTS5 table, so how rare a word is and
the mean chunk length, which BM25 weighs by, were those of all stores together: adding
documents to one store changed another's ranking. Each store now has its own FTS5 table
(vector_store_fts_<store id>, external content over vector_store_chunks), written by the
service in the transactions that write the store's chunks (app/services/vector_stores/
lexical_index.py); the global table and its triggers go. PostgreSQL ranks with ts_rank_cd,
which uses no collection statistics: nothing to change there.

The statements are spelled out here, not imported: a migration stays what it was when written.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006b"
down_revision = "0005h"
branch_labels = None
depends_on = None

GLOBAL = "vector_store_chunks_fts"
PREFIX = "vector_store_fts_"
FTS5 = "USING fts5(text, content='vector_store_chunks', content_rowid='id', tokenize='porter unicode61')"
GLOBAL_TRIGGERS = [
    "CREATE TRIGGER vector_store_chunks_ai AFTER INSERT ON vector_store_chunks BEGIN "
    f"INSERT INTO {GLOBAL}(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER vector_store_chunks_ad AFTER DELETE ON vector_store_chunks BEGIN "
    f"INSERT INTO {GLOBAL}({GLOBAL}, rowid, text) VALUES ('delete', old.id, old.text); END",
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _store_ids() -> list[str]:
    rows = op.get_bind().execute(sa.text("SELECT id FROM vector_stores"))
    ids = [str(store_id) for (store_id,) in rows]
    # Ids become table names: only the generated kind ("vs_" + hex) is ever stored.
    for store_id in ids:
        if not store_id.replace("_", "").isalnum() or not store_id.isascii():
            raise RuntimeError(f"vector store id {store_id!r} cannot name a table")
    return ids


def upgrade() -> None:
    if not _sqlite():
        return
    op.execute("DROP TRIGGER IF EXISTS vector_store_chunks_ai")
    op.execute("DROP TRIGGER IF EXISTS vector_store_chunks_ad")
    op.execute(f"DROP TABLE IF EXISTS {GLOBAL}")
    for store_id in _store_ids():
        table = f'"{PREFIX}{store_id}"'
        op.execute(f"CREATE VIRTUAL TABLE {table} {FTS5}")
        op.execute(
            sa.text(
                f"INSERT INTO {table}(rowid, text) "
                "SELECT id, text FROM vector_store_chunks WHERE store_id = :store"
            ).bindparams(store=store_id)
        )


def downgrade() -> None:
    if not _sqlite():
        return
    for store_id in _store_ids():
        op.execute(f'DROP TABLE IF EXISTS "{PREFIX}{store_id}"')
    op.execute(f"CREATE VIRTUAL TABLE {GLOBAL} {FTS5}")
    for statement in GLOBAL_TRIGGERS:
        op.execute(statement)
    op.execute(f"INSERT INTO {GLOBAL}({GLOBAL}) VALUES ('rebuild')")
