"""Each store's own full-text index, so BM25's statistics (how many chunks hold a term, the
mean chunk length) are the store's alone: another store's documents never move its ranking.

SQLite: one FTS5 table per store (external content over vector_store_chunks, Porter stemmer
over unicode61 tokens), created with the store, dropped with it, and kept in step here in the
same transaction as every write of the store's chunks. The rows are written by the service, not
by triggers: a trigger per store would run on every chunk written to any store (measured: 1000
stores made inserts 2x slower). PostgreSQL needs none of it: its ranking (ts_rank_cd) uses no
collection statistics, and the generated tsvector column follows the rows by itself.
"""

from __future__ import annotations

import re

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import VectorStoreChunkRow, VectorStoreFileRow

PREFIX = "vector_store_fts_"
# Store ids are generated ("vs_" + hex); anything else never becomes part of an SQL name.
SAFE_ID = re.compile(r"[A-Za-z0-9_]{1,64}")
TOKENIZER = "porter unicode61"


def table_name(store_id: str) -> str:
    if SAFE_ID.fullmatch(store_id) is None:
        raise ValueError(f"not a store id: {store_id!r}")
    return PREFIX + store_id


def per_store(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def create_statement(store_id: str) -> str:
    table = table_name(store_id)
    chunks = VectorStoreChunkRow.__tablename__
    return (
        f'CREATE VIRTUAL TABLE IF NOT EXISTS "{table}" USING fts5(text, '
        f"content='{chunks}', content_rowid='id', tokenize='{TOKENIZER}')"
    )


def fill_statement(store_id: str) -> str:
    """Index the store's chunks of one file (:store, :file)."""
    return _of_file(f'"{table_name(store_id)}"(rowid, text) SELECT id, text')


def forget_statement(store_id: str) -> str:
    """Take them out again: an external-content index needs the text it indexed."""
    table = table_name(store_id)
    return _of_file(f'"{table}"("{table}", rowid, text) SELECT \'delete\', id, text')


def _of_file(insert: str) -> str:
    # Both columns: the (store_id, file_id, chunk_index) index finds one file's chunks.
    chunks = VectorStoreChunkRow.__tablename__
    return f"INSERT INTO {insert} FROM {chunks} WHERE store_id = :store AND file_id = :file"


async def create(session: AsyncSession, store_id: str) -> None:
    if per_store(session):
        await session.execute(text(create_statement(store_id)))


async def drop(session: AsyncSession, store_id: str) -> None:
    if per_store(session):
        await session.execute(text(f'DROP TABLE IF EXISTS "{table_name(store_id)}"'))


async def add_file(session: AsyncSession, store_id: str, file_id: str) -> None:
    """After the file's chunks are inserted into the store."""
    if per_store(session):
        params = {"store": store_id, "file": file_id}
        await session.execute(text(fill_statement(store_id)), params)


async def remove_file(session: AsyncSession, store_id: str, file_id: str) -> None:
    """Before the file's chunks leave the store (deleted, or cascading from their file)."""
    if per_store(session):
        params = {"store": store_id, "file": file_id}
        await session.execute(text(forget_statement(store_id)), params)


async def remove_file_everywhere(session: AsyncSession, file_id: str) -> None:
    """Before a file is deleted: out of the index of every store holding chunks of it."""
    if not per_store(session):
        return
    holders = await session.scalars(
        select(VectorStoreFileRow.store_id).where(VectorStoreFileRow.file_id == file_id)
    )
    for store_id in list(holders):
        await remove_file(session, store_id, file_id)
