"""Index one file of a store: chunk it (stored chunk sets reused), embed the chunks (embedding
cache reused), then store chunks, vectors and the file's status in one transaction."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import anyio
import numpy as np
from sqlalchemy import Update, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.chunking.splitter import Chunk
from app.db.session import end_read
from app.db.tables import VectorStoreChunkRow, VectorStoreFileRow
from app.engine.base import Tokenizer
from app.engine.catalog import LoadedModel
from app.engine.vectors import Vectors, shape
from app.services.chunk_store import ChunkStore
from app.services.embedding_cache import EmbeddingCache
from app.services.embeddings import tokenize_inputs
from app.services.pipeline import ChunkParams
from app.services.vector_stores.store_files import bump_index_versions

STEP = 64  # chunks per embedding call: several full batches, bounded memory


@dataclass(frozen=True)
class Job:
    store_id: str
    file_id: str
    owner: str


@dataclass(frozen=True)
class Embedder:
    chunk_store: ChunkStore
    cache: EmbeddingCache
    cl100k: Tokenizer

    async def chunks(
        self, session: AsyncSession, job: Job, model: LoadedModel, row: VectorStoreFileRow
    ) -> list[Chunk]:
        """Raises the chunking route's own errors (422 encrypted, empty, 413 bomb, ...)."""
        params = ChunkParams(
            model=model, tokenizer="model", capacity=row.chunk_capacity, overlap=row.chunk_overlap
        )
        chunk_set = await self.chunk_store.chunk(
            session=session, file_id=job.file_id, filename=None, params=params
        )
        return chunk_set.chunks

    async def vectors(
        self, session: AsyncSession, model: LoadedModel, chunks: list[Chunk]
    ) -> Vectors:
        """Unit-length float32 vectors, one per chunk (normalized here whatever the model's
        YAML says: the dense index ranks by cosine)."""
        parts: list[Vectors] = []
        for start in range(0, len(chunks), STEP):
            texts: list[str | list[int]] = [c.text for c in chunks[start : start + STEP]]
            prepared = await anyio.to_thread.run_sync(
                functools.partial(
                    tokenize_inputs, texts, model=model, cl100k=self.cl100k, truncate=False
                )
            )
            result = await self.cache.embed(
                session=session, model=model, sequences=prepared.sequences
            )
            parts.append(shape(result.vectors, normalize=True, dimensions=None))
        return np.concatenate(parts).astype("<f4")


async def store_index(
    session: AsyncSession, job: Job, chunks: list[Chunk], vectors: Vectors
) -> bool:
    """Replace the file's chunks in the store and mark it completed, all or nothing. False when
    the job stopped being ours (cancelled, re-queued, the file or store deleted)."""
    await end_read(session)
    usage = sum(len(c.text.encode()) for c in chunks) + vectors.nbytes
    claimed = await session.execute(_finish(job).values(status="completed", usage_bytes=usage))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        return False
    await session.execute(
        delete(VectorStoreChunkRow).where(
            VectorStoreChunkRow.store_id == job.store_id,
            VectorStoreChunkRow.file_id == job.file_id,
        )
    )
    rows = [
        {
            "store_id": job.store_id,
            "file_id": job.file_id,
            "chunk_index": c.index,
            "start": c.start,
            "end": c.end,
            "tokens": c.tokens,
            "text": c.text,
            "page_first": c.pages[0] if c.pages else None,
            "page_last": c.pages[1] if c.pages else None,
            "headings": json.dumps(c.headings, ensure_ascii=False),
            "vector": vector.tobytes(),
        }
        for c, vector in zip(chunks, vectors, strict=True)
    ]
    try:
        await session.execute(insert(VectorStoreChunkRow), rows)
        await bump_index_versions(session, [job.store_id])
        await session.commit()
    except IntegrityError:  # the store or file went away meanwhile: nothing half-stored
        await session.rollback()
        return False
    return True


async def store_failure(session: AsyncSession, job: Job, code: str, message: str) -> None:
    await end_read(session)
    await session.execute(
        _finish(job).values(status="failed", error_code=code, error_message=message)
    )
    await session.commit()


async def requeue(session: AsyncSession, job: Job) -> None:
    """Give the job back (the embedding queue was full): another pass takes it later."""
    await end_read(session)
    await session.execute(_mine(job).values(job="queued", job_owner=None, job_claimed_ns=None))
    await session.commit()


def _mine(job: Job) -> Update:
    return update(VectorStoreFileRow).where(
        VectorStoreFileRow.store_id == job.store_id,
        VectorStoreFileRow.file_id == job.file_id,
        VectorStoreFileRow.job == "running",
        VectorStoreFileRow.job_owner == job.owner,
    )


def _finish(job: Job) -> Update:
    return _mine(job).values(job=None, job_owner=None, job_claimed_ns=None)
