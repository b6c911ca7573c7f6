"""Chunks of stored files, computed once per (file, model, tokenizer, capacity, overlap,
extractor version) from the file's extracted Document, with each chunk's pages and headings."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import anyio
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.chunking.splitter import (
    Chunk,
    ChunkingTimeout,
    checked_sizes,
    has_text,
)
from app.db.session import end_read
from app.db.tables import ChunkRow, ChunkSetRow
from app.engine.base import Tokenizer
from app.errors import DomainError, InvalidRequest, UnprocessableDocument
from app.extract import EXTRACTOR_VERSION
from app.observability.metrics import Metrics
from app.services.concurrency.single_flight import SingleFlight
from app.services.documents import DocumentStore, FileRef
from app.services.files import FileStore
from app.services.pipeline import ChunkParams, chunk_document


@dataclass(frozen=True)
class ChunkSet:
    file: FileRef
    capacity: int
    chunks: list[Chunk]


class ChunkStore:
    """Serves chunk sets from the database, computing each missing one once (also when
    identical requests arrive together)."""

    def __init__(
        self,
        *,
        files: FileStore,
        documents: DocumentStore,
        cl100k: Tokenizer,
        metrics: Metrics | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.files = files
        self.documents = documents
        self.cl100k = cl100k
        self.metrics = metrics
        self.timeout = timeout  # seconds one split may take
        self._flights: SingleFlight[list[Chunk]] = SingleFlight()

    async def chunk(
        self,
        *,
        session: AsyncSession,
        file_id: str,
        filename: str | None,
        params: ChunkParams,
    ) -> ChunkSet:
        """The file's chunks for these parameters: from the database, or computed and stored."""
        file = FileRef.of(await self.files.get(session=session, file_id=file_id))
        if filename is not None and filename != file.filename:
            raise InvalidRequest(
                f"filename '{filename}' does not match file {file_id} ('{file.filename}')",
                subject="filename",
                code="filename_mismatch",
            )
        # Checked before the lookup: an unchecked size (say 10**30) would overflow SQLite's INTEGER.
        capacity = checked_sizes(params.model.tokenizer, params.capacity, params.overlap)
        key = _Key(file_id, params.model.identity, params.tokenizer, capacity, params.overlap)
        ticket = self._flights.ticket()
        stored = await self._servable(session, key)
        if stored is not None:
            return ChunkSet(file=file, capacity=capacity, chunks=stored)
        try:
            chunks = await self._flights.run(
                key,
                lambda: self._compute(session, file, params, key),
                lookup=lambda: self._servable(session, key),
                since=ticket,
            )
        except DomainError as exc:
            # Its own copy: one computation's error reaches every request that waited on it.
            raise exc.again() from exc
        return ChunkSet(file=file, capacity=capacity, chunks=chunks)

    async def _servable(self, session: AsyncSession, key: _Key) -> list[Chunk] | None:
        """The stored chunks, unless OCR read them while it was on and it is off now: then
        the file is extracted again, and refused as it would be had OCR never run."""
        stored = await _stored_and_released(session, key)
        if stored and not self.documents.limits.ocr.enabled and any(c.ocr_pages for c in stored):
            return None
        return stored

    async def _compute(
        self, session: AsyncSession, file: FileRef, params: ChunkParams, key: _Key
    ) -> list[Chunk]:
        document = await self.documents.get(session=session, file=file)
        if not has_text(document.text):
            # 422 like every other document the extractor cannot use (no text layer, ...).
            raise UnprocessableDocument(
                f"File '{file.filename}' ({file.id}) has no text to embed: it is empty or only "
                "whitespace, zero-width or control characters",
                subject="file",
                code="empty_document",
            )
        sizer = self.cl100k if params.tokenizer == "cl100k_base" else None
        started = time.perf_counter()
        try:
            chunks = await anyio.to_thread.run_sync(
                lambda: chunk_document(
                    document, params, key.capacity, sizer, time.monotonic() + self.timeout
                )
            )
        except ChunkingTimeout as exc:
            raise UnprocessableDocument(
                f"File '{file.filename}' ({file.id}) took longer than the {self.timeout:g} s "
                f"chunking limit ({exc.done:,} of {exc.total:,} characters split); split it "
                "into smaller files",
                subject="file",
                code="chunking_timeout",
            ) from exc
        if self.metrics is not None:
            elapsed = time.perf_counter() - started
            self.metrics.chunking_seconds.labels(params.model.name).observe(elapsed)
        if not await _save(session, key, chunks):
            # A concurrent delete (foreign key) or another process got in first: reading the
            # file again answers 404 for the former.
            await self.files.get(session=session, file_id=file.id)
        return chunks


@dataclass(frozen=True)
class _Key:
    file_id: str
    model: str
    tokenizer: str
    capacity: int
    overlap: int


async def _stored_and_released(session: AsyncSession, key: _Key) -> list[Chunk] | None:
    """The stored chunks, with the read ended: no connection is held while splitting, nor
    while the caller embeds or streams."""
    stored = await _stored(session, key)
    await end_read(session)
    return stored


async def _stored(session: AsyncSession, key: _Key) -> list[Chunk] | None:
    """The stored chunks, or None. One query: a delete committing between a set lookup and a
    chunk read could otherwise pass for a set with no chunks (a set always has some)."""
    query = (
        select(
            ChunkRow.index,
            ChunkRow.start,
            ChunkRow.end,
            ChunkRow.tokens,
            ChunkRow.text,
            ChunkRow.page_first,
            ChunkRow.page_last,
            ChunkRow.headings,
            ChunkRow.ocr_pages,
        )
        .join(ChunkSetRow, ChunkSetRow.id == ChunkRow.set_id)
        .where(
            ChunkSetRow.file_id == key.file_id,
            ChunkSetRow.model == key.model,
            ChunkSetRow.tokenizer == key.tokenizer,
            ChunkSetRow.chunk_capacity == key.capacity,
            ChunkSetRow.chunk_overlap == key.overlap,
            ChunkSetRow.extractor == EXTRACTOR_VERSION,
        )
        .order_by(ChunkRow.index)
    )
    # Plain rows, not ORM objects: a large file has many thousands of chunks.
    rows = await session.execute(query)
    chunks = [
        Chunk(
            index=index,
            start=start,
            end=end,
            tokens=tokens,
            text=text,
            pages=None if first is None or last is None else (first, last),
            headings=tuple(json.loads(headings)),
            ocr_pages=tuple(json.loads(ocr_pages)),
        )
        for index, start, end, tokens, text, first, last, headings, ocr_pages in rows
    ]
    return chunks or None


_SAVE_SLICE = 256


def _chunk_row(set_id: int, c: Chunk) -> dict[str, object]:
    return {
        "set_id": set_id,
        "index": c.index,
        "start": c.start,
        "end": c.end,
        "tokens": c.tokens,
        "text": c.text,
        "page_first": c.pages[0] if c.pages else None,
        "page_last": c.pages[1] if c.pages else None,
        "headings": json.dumps(c.headings, ensure_ascii=False),
        "ocr_pages": json.dumps(c.ocr_pages),
    }


async def _save(session: AsyncSession, key: _Key, chunks: list[Chunk]) -> bool:
    """Store the chunk set; False if a concurrent request or delete got in first."""
    chunk_set = ChunkSetRow(
        file_id=key.file_id,
        model=key.model,
        tokenizer=key.tokenizer,
        chunk_capacity=key.capacity,
        chunk_overlap=key.overlap,
        extractor=EXTRACTOR_VERSION,
    )
    session.add(chunk_set)
    try:
        await session.flush()
        # Executemany, not an ORM object per chunk: that bookkeeping would run on the event
        # loop, for as many chunks as a large file has. In slices, one transaction: building
        # 5,000 rows' parameters in one call held the loop for 0.5 s (8 MB of text).
        for start in range(0, len(chunks), _SAVE_SLICE):
            await session.execute(
                insert(ChunkRow),
                [_chunk_row(chunk_set.id, c) for c in chunks[start : start + _SAVE_SLICE]],
            )
        await session.commit()
    except IntegrityError:
        # Another process stored the same chunks first, or the file was deleted meanwhile
        # (foreign key); either way nothing of ours is half-stored.
        await session.rollback()
        return False
    return True
