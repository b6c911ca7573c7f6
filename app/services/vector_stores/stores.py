"""Vector store rows: create, read, list, update, delete, and their wire form with counts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from uuid import uuid4

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import end_read
from app.db.tables import VectorStoreFileRow, VectorStoreRow
from app.errors import InvalidRequest, NotFound
from app.services.vector_stores.pages import Cursors, Order, Page, fetch_page, missing_cursor
from app.services.vector_stores.types import (
    FileCounts,
    StoreChanges,
    StoreSpec,
    StoreStatus,
    StoreSummary,
)

DAY = 86_400
# A search writes last_active_at at most this often: not one write per search.
ACTIVE_RESOLUTION = 60


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid4().hex}"


async def get_store(session: AsyncSession, store_id: str) -> VectorStoreRow:
    row = await session.get(VectorStoreRow, store_id)
    if row is None:
        raise NotFound(f"No such vector store: '{store_id}'", subject="store")
    return row


def create_row(spec: StoreSpec, model: str) -> VectorStoreRow:
    now = time.time_ns()
    return VectorStoreRow(
        id=new_id("vs"),
        name=spec.name or "",
        description=spec.description,
        metadata_json=_json(spec.metadata),
        model=model,
        expires_after_days=spec.expires_after_days,
        created_at=now // 1_000_000_000,
        created_ns=now,
        last_active_at=now // 1_000_000_000,
        index_version=0,
    )


def apply_update(row: VectorStoreRow, changes: StoreChanges) -> None:
    """Fields given replace the stored ones; `None` clears metadata and the expiry policy."""
    given = changes.given
    if "name" in given and changes.name is not None:
        row.name = changes.name
    if "metadata" in given:
        row.metadata_json = _json(changes.metadata)
    if "expires_after_days" in given:
        row.expires_after_days = changes.expires_after_days
    row.last_active_at = int(time.time())


async def touch(session: AsyncSession, row: VectorStoreRow) -> None:
    now = int(time.time())
    if now - row.last_active_at >= ACTIVE_RESOLUTION:
        await end_read(session)
        row.last_active_at = now
        await session.commit()


async def list_stores(
    session: AsyncSession, *, limit: int, order: Order, after: str | None, before: str | None
) -> Page[VectorStoreRow]:
    async def cursor(name: str, value: str | None) -> tuple[int, str] | None:
        if value is None:
            return None
        row = await session.get(VectorStoreRow, value)
        if row is None:
            raise missing_cursor(name, value)
        return (row.created_ns, row.id)

    cursors = Cursors(after=await cursor("after", after), before=await cursor("before", before))
    key = (VectorStoreRow.created_ns, VectorStoreRow.id)
    page = await fetch_page(
        session, select(VectorStoreRow), key, order=order, limit=limit, cursors=cursors
    )
    return Page(rows=[r[0] for r in page.rows], has_more=page.has_more)


async def delete_store(session: AsyncSession, store_id: str) -> None:
    """Its files, batches and chunks go with it (foreign keys cascade), its lexical index too."""
    await get_store(session, store_id)
    await end_read(session)
    result = await session.execute(delete(VectorStoreRow).where(VectorStoreRow.id == store_id))
    await session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]  # a concurrent delete won
        raise NotFound(f"No such vector store: '{store_id}'", subject="store")


async def counts(
    session: AsyncSession, store_ids: Iterable[str]
) -> dict[str, tuple[FileCounts, int]]:
    """Per store: its files by status, and the bytes its indexed chunks use."""
    ids = list(store_ids)
    found: dict[str, tuple[FileCounts, int]] = {i: (FileCounts(), 0) for i in ids}
    if not ids:
        return found
    query = (
        select(
            VectorStoreFileRow.store_id,
            VectorStoreFileRow.status,
            func.count(),
            func.coalesce(func.sum(VectorStoreFileRow.usage_bytes), 0),
        )
        .where(VectorStoreFileRow.store_id.in_(ids))
        .group_by(VectorStoreFileRow.store_id, VectorStoreFileRow.status)
    )
    for store_id, status, count, used in await session.execute(query):
        tally, usage = found[store_id]
        tally.add(status, count)
        found[store_id] = (tally, usage + int(used))
    return found


def expiry(row: VectorStoreRow) -> int | None:
    """When the store expires (`days` after its last activity); None without a policy."""
    if row.expires_after_days is None:
        return None
    return row.last_active_at + row.expires_after_days * DAY


def is_expired(row: VectorStoreRow) -> bool:
    expires_at = expiry(row)
    return expires_at is not None and expires_at <= time.time()


def require_unexpired(row: VectorStoreRow) -> None:
    """An expired store is no longer available for use, as OpenAI's: searching it is refused
    (and so does not make it active again)."""
    if is_expired(row):
        raise InvalidRequest(
            f"Vector store '{row.id}' has expired", subject="store", code="vector_store_expired"
        )


def summary(row: VectorStoreRow, tally: FileCounts, usage: int) -> StoreSummary:
    """The store with its counts, usage, status and expiry time."""
    status: StoreStatus = "in_progress" if tally.in_progress else "completed"
    if is_expired(row):
        status = "expired"
    return StoreSummary(row, tally, usage, status, expiry(row))


async def summary_of(session: AsyncSession, row: VectorStoreRow) -> StoreSummary:
    tally, usage = (await counts(session, [row.id]))[row.id]
    return summary(row, tally, usage)


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)
