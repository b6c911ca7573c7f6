"""Chunks of stored files, computed once per (file, model, tokenizer, capacity, overlap)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import anyio
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import end_read
from app.db.tables import ChunkRow, ChunkSetRow, FileRow
from app.engine.base import Tokenizer
from app.engine.catalog import LoadedModel, ModelCatalog
from app.errors import InvalidRequest, NotFound
from app.observability.metrics import Metrics
from app.schemas.chunks import ChunkingOptions, SizingTokenizer
from app.services.chunking import Chunk, checked_sizes, split_text
from app.services.files import FileStore
from app.services.text import decode_text, is_markdown


@dataclass(frozen=True)
class ChunkParams:
    model: LoadedModel
    tokenizer: SizingTokenizer
    capacity: int | None
    overlap: int

    @classmethod
    def of(cls, options: ChunkingOptions, catalog: ModelCatalog) -> ChunkParams:
        """The parameters a request asks for (404 for an unknown model)."""
        return cls(
            model=catalog.get(options.model),
            tokenizer=options.tokenizer,
            capacity=options.chunk_capacity,
            overlap=options.chunk_overlap,
        )


@dataclass(frozen=True)
class ChunkSet:
    file: FileRow
    capacity: int
    chunks: list[Chunk]


def _sizer(params: ChunkParams, cl100k: Tokenizer) -> Tokenizer | None:
    return cl100k if params.tokenizer == "cl100k_base" else None


async def chunk_file(
    *,
    session: AsyncSession,
    store: FileStore,
    file_id: str,
    filename: str | None,
    params: ChunkParams,
    cl100k: Tokenizer,
    id_param: str = "file_id",
    metrics: Metrics | None = None,
) -> ChunkSet:
    """The file's chunks for these parameters: from the database, or computed and stored.

    `id_param` is the request field that carried `file_id`, named by a 404 for an unknown id.
    """
    try:
        return await _chunk_file(session, store, file_id, filename, params, cl100k, metrics)
    except NotFound as exc:
        exc.param = id_param
        raise


async def _chunk_file(
    session: AsyncSession,
    store: FileStore,
    file_id: str,
    filename: str | None,
    params: ChunkParams,
    cl100k: Tokenizer,
    metrics: Metrics | None,
) -> ChunkSet:
    file = await store.get(session=session, file_id=file_id)
    if filename is not None and filename != file.filename:
        raise InvalidRequest(
            f"filename '{filename}' does not match file {file_id} ('{file.filename}')",
            param="filename",
            code="filename_mismatch",
        )
    # Checked before the lookup: an unchecked size (say 10**30) would overflow SQLite's INTEGER.
    capacity = checked_sizes(params.model.tokenizer, params.capacity, params.overlap)
    stored = await _stored(session, file_id=file_id, params=params, capacity=capacity)
    # No connection is held while splitting, nor while the caller embeds or streams.
    await end_read(session)
    if stored is not None:
        return ChunkSet(file=file, capacity=capacity, chunks=stored)
    data = await store.read_bytes(file_id=file_id)
    started = time.perf_counter()
    chunks = await anyio.to_thread.run_sync(
        lambda: _split(data, file.filename, params, capacity, _sizer(params, cl100k))
    )
    if metrics is not None:
        elapsed = time.perf_counter() - started
        metrics.chunking_seconds.labels(params.model.name).observe(elapsed)
    if not await _save(session, file_id=file_id, params=params, capacity=capacity, chunks=chunks):
        # The rollback expired `file` (reading it now would be lazy IO: a 500); reload it,
        # which is a 404 if a concurrent delete is why the save failed.
        file = await store.get(session=session, file_id=file_id)
    return ChunkSet(file=file, capacity=capacity, chunks=chunks)


def _split(
    data: bytes, filename: str, params: ChunkParams, capacity: int, sizer: Tokenizer | None
) -> list[Chunk]:
    text = decode_text(data, filename=filename)
    chunks = split_text(
        text=text,
        model_tokenizer=params.model.tokenizer,
        capacity=capacity,
        overlap=params.overlap,
        markdown=is_markdown(filename),
        sizing_tokenizer=sizer,
    )
    if not chunks:
        raise InvalidRequest(
            f"File '{filename}' has no text to chunk (it is empty or only whitespace)",
            param="id",
            code="empty_document",
        )
    return chunks


async def _stored(
    session: AsyncSession, *, file_id: str, params: ChunkParams, capacity: int
) -> list[Chunk] | None:
    """The stored chunks, or None. One query: a delete committing between a set lookup and a
    chunk read could otherwise pass for a set with no chunks (a set always has some)."""
    query = (
        select(ChunkRow.index, ChunkRow.start, ChunkRow.end, ChunkRow.tokens, ChunkRow.text)
        .join(ChunkSetRow, ChunkSetRow.id == ChunkRow.set_id)
        .where(
            ChunkSetRow.file_id == file_id,
            ChunkSetRow.model == params.model.identity,
            ChunkSetRow.tokenizer == params.tokenizer,
            ChunkSetRow.chunk_capacity == capacity,
            ChunkSetRow.chunk_overlap == params.overlap,
        )
        .order_by(ChunkRow.index)
    )
    # Plain rows, not ORM objects: a large file has many thousands of chunks.
    rows = await session.execute(query)
    chunks = [
        Chunk(index=index, start=start, end=end, tokens=tokens, text=text)
        for index, start, end, tokens, text in rows
    ]
    return chunks or None


async def _save(
    session: AsyncSession, *, file_id: str, params: ChunkParams, capacity: int, chunks: list[Chunk]
) -> bool:
    """Store the chunk set; False if a concurrent request or delete got in first."""
    chunk_set = ChunkSetRow(
        file_id=file_id,
        model=params.model.identity,
        tokenizer=params.tokenizer,
        chunk_capacity=capacity,
        chunk_overlap=params.overlap,
    )
    session.add(chunk_set)
    try:
        await session.flush()
        # One executemany, not an ORM object per chunk: that bookkeeping would run on the
        # event loop, for as many chunks as a large file has.
        await session.execute(
            insert(ChunkRow),
            [
                {
                    "set_id": chunk_set.id,
                    "index": c.index,
                    "start": c.start,
                    "end": c.end,
                    "tokens": c.tokens,
                    "text": c.text,
                }
                for c in chunks
            ],
        )
        await session.commit()
    except IntegrityError:
        # A concurrent identical request stored the same chunks first, or the file was
        # deleted meanwhile (foreign key); either way nothing of ours is half-stored.
        await session.rollback()
        return False
    return True
