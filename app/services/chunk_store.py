"""Chunks of stored files, computed once per (file, model, tokenizer, capacity, overlap)."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import end_read
from app.db.tables import ChunkRow, ChunkSetRow, FileRow
from app.engine.base import Tokenizer
from app.engine.catalog import LoadedModel
from app.errors import InvalidRequest
from app.schemas.chunks import SizingTokenizer
from app.services.chunking import Chunk, checked_sizes, split_text
from app.services.files import FileStore
from app.services.text import decode_text, is_markdown


@dataclass(frozen=True)
class ChunkParams:
    model: LoadedModel
    tokenizer: SizingTokenizer
    capacity: int | None
    overlap: int


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
) -> ChunkSet:
    """The file's chunks for these parameters: from the database, or computed and stored."""
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
    if stored is not None:
        return ChunkSet(file=file, capacity=capacity, chunks=stored)
    data = await store.read_bytes(file_id=file_id)
    chunks = await anyio.to_thread.run_sync(
        lambda: _split(data, file.filename, params, capacity, _sizer(params, cl100k))
    )
    await end_read(session)
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


def _set_query(file_id: str, params: ChunkParams, capacity: int) -> Select[int]:
    return select(ChunkSetRow.id).where(
        ChunkSetRow.file_id == file_id,
        ChunkSetRow.model == params.model.name,
        ChunkSetRow.tokenizer == params.tokenizer,
        ChunkSetRow.chunk_capacity == capacity,
        ChunkSetRow.chunk_overlap == params.overlap,
    )


async def _stored(
    session: AsyncSession, *, file_id: str, params: ChunkParams, capacity: int
) -> list[Chunk] | None:
    set_id = await session.scalar(_set_query(file_id, params, capacity))
    if set_id is None:
        return None
    rows = await session.scalars(
        select(ChunkRow).where(ChunkRow.set_id == set_id).order_by(ChunkRow.index)
    )
    return [
        Chunk(index=r.index, start=r.start, end=r.end, tokens=r.tokens, text=r.text) for r in rows
    ]


async def _save(
    session: AsyncSession, *, file_id: str, params: ChunkParams, capacity: int, chunks: list[Chunk]
) -> bool:
    """Store the chunk set; False if a concurrent request or delete got in first."""
    chunk_set = ChunkSetRow(
        file_id=file_id,
        model=params.model.name,
        tokenizer=params.tokenizer,
        chunk_capacity=capacity,
        chunk_overlap=params.overlap,
    )
    session.add(chunk_set)
    try:
        await session.flush()
        session.add_all(
            ChunkRow(
                set_id=chunk_set.id,
                index=c.index,
                start=c.start,
                end=c.end,
                tokens=c.tokens,
                text=c.text,
            )
            for c in chunks
        )
        await session.commit()
    except IntegrityError:
        # A concurrent identical request stored the same chunks first, or the file was
        # deleted meanwhile (foreign key); either way nothing of ours is half-stored.
        await session.rollback()
        return False
    return True
