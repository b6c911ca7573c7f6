"""File batches: many files queued at once, polled by counts, cancelled together."""

from __future__ import annotations

import time

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import end_read
from app.db.tables import VectorStoreFileBatchRow, VectorStoreFileRow
from app.errors import NotFound
from app.services.vector_stores.stores import new_id
from app.services.vector_stores.types import BatchSummary, FileCounts, FileStatus


def new_batch(store_id: str) -> VectorStoreFileBatchRow:
    now = time.time_ns()
    return VectorStoreFileBatchRow(
        id=new_id("vsfb"),
        store_id=store_id,
        created_at=now // 1_000_000_000,
        created_ns=now,
        cancelled=False,
    )


async def get_batch(session: AsyncSession, store_id: str, batch_id: str) -> VectorStoreFileBatchRow:
    row = await session.get(VectorStoreFileBatchRow, batch_id)
    if row is None or row.store_id != store_id:
        raise NotFound(f"No file batch '{batch_id}' in vector store '{store_id}'", subject="batch")
    return row


async def cancel_batch(session: AsyncSession, row: VectorStoreFileBatchRow) -> None:
    """Files not indexed yet become `cancelled`; a worker busy with one stores nothing of it
    (its final update requires the job to be still its own)."""
    await end_read(session)
    row.cancelled = True
    await session.execute(
        update(VectorStoreFileRow)
        .where(
            VectorStoreFileRow.batch_id == row.id,
            VectorStoreFileRow.status == "in_progress",
        )
        .values(status="cancelled", job=None, job_owner=None, job_claimed_ns=None)
    )
    await session.commit()


async def summary_of(session: AsyncSession, row: VectorStoreFileBatchRow) -> BatchSummary:
    query = (
        select(VectorStoreFileRow.status, func.count())
        .where(VectorStoreFileRow.batch_id == row.id)
        .group_by(VectorStoreFileRow.status)
    )
    tally = FileCounts()
    for name, count in await session.execute(query):
        tally.add(name, count)
    return BatchSummary(row, tally, _status(row, tally))


def _status(row: VectorStoreFileBatchRow, tally: FileCounts) -> FileStatus:
    status: FileStatus
    if tally.in_progress:
        status = "in_progress"
    elif row.cancelled:
        status = "cancelled"
    elif tally.total and tally.failed == tally.total:
        status = "failed"
    else:
        status = "completed"
    return status
