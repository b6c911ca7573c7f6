"""vector stores: BM25 moves out of the database (in-memory postings per store)

Revision ID: 0007m
Revises: 0006b
Create Date: 2026-12-03 03:00:00

Lexical search now ranks with BM25 postings held in memory per store and refreshed on its
index_version, like the dense vectors (app/services/vector_stores/bm25.py): FTS5 scored every
chunk matching any query word (p95 135-227 ms at 100k chunks), and PostgreSQL's ts_rank_cd is
not BM25. The full-text indexes nothing reads any more go: on SQLite each store's FTS5 table
(0006b), on PostgreSQL the generated tsvector column and its GIN index (0004v). A downgrade
builds them again from the stored chunks.

The in-memory indexes tell a store's chunks apart by id, so an id must never be given to
another chunk. SQLite reuses the highest rowid once its row is deleted (a file taken out of a
store, then another added, got the same ids, and was searched with the old chunks' terms and
vectors): vector_store_chunks is rebuilt with AUTOINCREMENT. PostgreSQL's sequence never
reuses ids.

The statements are spelled out here, not imported: a migration stays what it was when written.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007m"
down_revision = "0006b"
branch_labels = None
depends_on = None

PREFIX = "vector_store_fts_"
FTS5 = "USING fts5(text, content='vector_store_chunks', content_rowid='id', tokenize='porter unicode61')"
POSTGRES_FTS = [
    "ALTER TABLE vector_store_chunks ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED",
    "CREATE INDEX ix_vector_store_chunks_tsv ON vector_store_chunks USING gin (tsv)",
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
        op.execute("DROP INDEX IF EXISTS ix_vector_store_chunks_tsv")
        op.execute("ALTER TABLE vector_store_chunks DROP COLUMN IF EXISTS tsv")
        return
    for store_id in _store_ids():
        op.execute(f'DROP TABLE IF EXISTS "{PREFIX}{store_id}"')
    _rebuild_chunks(autoincrement=True)


def downgrade() -> None:
    if not _sqlite():
        for statement in POSTGRES_FTS:
            op.execute(statement)
        return
    _rebuild_chunks(autoincrement=False)
    for store_id in _store_ids():
        table = f'"{PREFIX}{store_id}"'
        op.execute(f"CREATE VIRTUAL TABLE {table} {FTS5}")
        op.execute(
            sa.text(
                f"INSERT INTO {table}(rowid, text) "
                "SELECT id, text FROM vector_store_chunks WHERE store_id = :store"
            ).bindparams(store=store_id)
        )


def _rebuild_chunks(*, autoincrement: bool) -> None:
    """SQLite: the chunks' table copied into one declared with (or without) AUTOINCREMENT."""
    with op.batch_alter_table(
        "vector_store_chunks",
        recreate="always",
        table_kwargs={"sqlite_autoincrement": autoincrement},
    ):
        pass
