"""Files in a vector store: adding (queued for indexing), reading, re-attributing, removing."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.chunking.strategy import Strategy, strategy_sizes
from app.db.session import end_read
from app.db.tables import FileRow, VectorStoreChunkRow, VectorStoreFileRow, VectorStoreRow
from app.engine.catalog import ModelCatalog
from app.errors import NotFound
from app.services.vector_stores.pages import Cursors, Order, Page, fetch_page, missing_cursor
from app.services.vector_stores.types import Attributes, FileStatus

QUEUED = "queued"


@dataclass(frozen=True)
class FileToAdd:
    file_id: str
    attributes: Attributes | None
    strategy: Strategy | None


def chunk_sizes(strategy: Strategy | None, catalog: ModelCatalog, model: str) -> tuple[int, int]:
    """(capacity, overlap) of a strategy for the store's model; none given is `auto`."""
    return strategy_sizes(strategy or "auto", catalog.get(model).tokenizer)


async def add_files(
    session: AsyncSession,
    store: VectorStoreRow,
    files: Sequence[FileToAdd],
    *,
    catalog: ModelCatalog,
    batch_id: str | None = None,
) -> list[VectorStoreFileRow]:
    """Queue every file (all exist, else a 404 and nothing is added). A file already in the
    store is indexed again with its new attributes and chunking."""
    sizes = [chunk_sizes(f.strategy, catalog, store.model) for f in files]
    ids = [f.file_id for f in files]
    await require_files(session, ids)
    present = await session.scalars(
        select(VectorStoreFileRow).where(
            VectorStoreFileRow.store_id == store.id, VectorStoreFileRow.file_id.in_(ids)
        )
    )
    rows = {row.file_id: row for row in present}
    await end_read(session)
    now = time.time_ns()
    for order, (wanted, (capacity, overlap)) in enumerate(zip(files, sizes, strict=True)):
        row = rows.get(wanted.file_id)
        if row is None:
            row = VectorStoreFileRow(store_id=store.id, file_id=wanted.file_id, usage_bytes=0)
            # A nanosecond apart: lists page in the order the files were given.
            row.created_at, row.created_ns = now // 1_000_000_000, now + order
            session.add(row)
            rows[wanted.file_id] = row
        row.batch_id = batch_id
        row.status, row.error_code, row.error_message = "in_progress", None, None
        row.attributes_json = _json(wanted.attributes)
        row.chunk_capacity, row.chunk_overlap = capacity, overlap
        row.job, row.job_owner, row.job_claimed_ns = QUEUED, None, None
    await session.commit()
    return [rows[file_id] for file_id in dict.fromkeys(ids)]


async def require_files(session: AsyncSession, file_ids: Sequence[str]) -> None:
    """404 naming the first id that is not a stored file (in /v1/files)."""
    known: set[str] = set()
    for start in range(0, len(file_ids), 500):  # SQLite binds at most 32766 parameters
        part = file_ids[start : start + 500]
        known.update((await session.scalars(select(FileRow.id).where(FileRow.id.in_(part)))).all())
    for file_id in file_ids:
        if file_id not in known:
            raise NotFound(f"No such file: '{file_id}'", subject="file")


async def get_file(session: AsyncSession, store_id: str, file_id: str) -> VectorStoreFileRow:
    row = await session.get(VectorStoreFileRow, (store_id, file_id))
    if row is None:
        raise NotFound(f"No file '{file_id}' in vector store '{store_id}'", subject="file")
    return row


async def list_files(
    session: AsyncSession,
    store_id: str,
    *,
    batch_id: str | None = None,
    status: FileStatus | None,
    limit: int,
    order: Order,
    after: str | None,
    before: str | None,
) -> Page[VectorStoreFileRow]:
    async def cursor(name: str, value: str | None) -> tuple[int, str] | None:
        if value is None:
            return None
        row = await session.get(VectorStoreFileRow, (store_id, value))
        if row is None:
            raise missing_cursor(name, value)
        return (row.created_ns, row.file_id)

    query = select(VectorStoreFileRow).where(VectorStoreFileRow.store_id == store_id)
    if batch_id is not None:
        query = query.where(VectorStoreFileRow.batch_id == batch_id)
    if status is not None:
        query = query.where(VectorStoreFileRow.status == status)
    cursors = Cursors(after=await cursor("after", after), before=await cursor("before", before))
    key = (VectorStoreFileRow.created_ns, VectorStoreFileRow.file_id)
    page = await fetch_page(session, query, key, order=order, limit=limit, cursors=cursors)
    return Page(rows=[r[0] for r in page.rows], has_more=page.has_more)


async def set_attributes(
    session: AsyncSession, row: VectorStoreFileRow, attributes: Attributes | None
) -> VectorStoreFileRow:
    await end_read(session)
    row.attributes_json = _json(attributes)
    await session.commit()
    return row


async def remove_file(session: AsyncSession, store_id: str, file_id: str) -> None:
    """The file leaves the store with its chunks (cascade); the file itself stays in /v1/files."""
    await get_file(session, store_id, file_id)
    await end_read(session)
    result = await session.execute(
        delete(VectorStoreFileRow).where(
            VectorStoreFileRow.store_id == store_id, VectorStoreFileRow.file_id == file_id
        )
    )
    await bump_index_versions(session, [store_id])
    await session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]  # a concurrent delete won
        raise NotFound(f"No file '{file_id}' in vector store '{store_id}'", subject="file")


async def bump_index_versions(session: AsyncSession, store_ids: Sequence[str]) -> None:
    """Tell every replica's dense index that these stores' chunks changed (same transaction)."""
    await session.execute(
        update(VectorStoreRow)
        .where(VectorStoreRow.id.in_(store_ids))
        .values(index_version=VectorStoreRow.index_version + 1)
    )


async def chunk_texts(session: AsyncSession, store_id: str, file_id: str) -> list[str]:
    query = (
        select(VectorStoreChunkRow.text)
        .where(VectorStoreChunkRow.store_id == store_id, VectorStoreChunkRow.file_id == file_id)
        .order_by(VectorStoreChunkRow.chunk_index)
    )
    return list((await session.scalars(query)).all())


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)
