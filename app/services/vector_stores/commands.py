"""Creating stores and file batches: what the routes and `ragprep ingest --vector-store` both
call, so a store filled from a folder is filled exactly as through the API."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.chunking.strategy import Strategy
from app.db.session import end_read
from app.db.tables import VectorStoreFileBatchRow, VectorStoreRow
from app.engine.catalog import ModelCatalog
from app.services.vector_stores import batches, stores
from app.services.vector_stores.queue import IndexQueue
from app.services.vector_stores.store_files import (
    FileToAdd,
    add_files,
    chunk_sizes,
    require_files,
)
from app.services.vector_stores.types import StoreSpec


async def create_store(
    session: AsyncSession,
    spec: StoreSpec,
    *,
    file_ids: Sequence[str],
    strategy: Strategy | None,
    catalog: ModelCatalog,
    queue: IndexQueue,
) -> VectorStoreRow:
    """A store for the default model, with `file_ids` queued. Everything is checked before
    anything is stored: a bad id or strategy creates no store."""
    model = catalog.get(None).name
    ids = list(dict.fromkeys(file_ids))
    chunk_sizes(strategy, catalog, model)
    await require_files(session, ids)
    await end_read(session)
    row = stores.create_row(spec, model)
    session.add(row)
    await session.commit()
    if ids:
        await add_files(session, row, [FileToAdd(f, None, strategy) for f in ids], catalog=catalog)
        queue.notify()
    return row


async def create_batch(
    session: AsyncSession,
    store: VectorStoreRow,
    wanted: Sequence[FileToAdd],
    *,
    catalog: ModelCatalog,
    queue: IndexQueue,
) -> VectorStoreFileBatchRow:
    """A batch of files queued together (all exist, else a 404 and nothing is queued)."""
    batch = batches.new_batch(store.id)
    await add_files(session, store, wanted, catalog=catalog, batch_id=batch.id)
    session.add(batch)
    await session.commit()
    queue.notify()
    return batch
