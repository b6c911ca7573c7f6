"""Chunk a stored file (reusing stored chunks) and embed the chunks (reusing cached vectors)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.engine.base import Tokenizer
from app.schemas.embeddings import Usage
from app.schemas.file_embeddings import ChunkEmbedding
from app.services.chunk_store import ChunkParams, ChunkSet
from app.services.chunking import Chunk
from app.services.embedding_cache import EmbeddingCache
from app.services.embeddings import tokenize_inputs
from app.services.vectors import encode, shape

# Chunks embedded per step: big enough to fill several batches, small enough to stream early.
STEP = 64


@dataclass(frozen=True)
class FileEmbedder:
    params: ChunkParams
    cl100k: Tokenizer
    cache: EmbeddingCache
    session_factory: async_sessionmaker[AsyncSession]
    encoding_format: str

    def usage(self, embedded: list[ChunkEmbedding]) -> Usage:
        """Billed as /v1/embeddings bills: each chunk's tokens plus the special tokens added."""
        specials = self.params.model.tokenizer.special_tokens
        billed = [item.tokens + specials for item in embedded]
        cached = sum(tokens for tokens, item in zip(billed, embedded, strict=True) if item.cached)
        return Usage.of(sum(billed), cached)

    async def stream(self, chunk_set: ChunkSet) -> AsyncIterator[list[ChunkEmbedding]]:
        """Embedded chunks in document order, a step at a time, with a session of its own
        (a streaming response outlives the request's dependencies)."""
        async with self.session_factory() as session:
            for start in range(0, len(chunk_set.chunks), STEP):
                yield await self._embed(session, chunk_set.chunks[start : start + STEP])

    async def _embed(self, session: AsyncSession, chunks: list[Chunk]) -> list[ChunkEmbedding]:
        model = self.params.model
        texts: list[str | list[int]] = [c.text for c in chunks]
        prepared = await anyio.to_thread.run_sync(
            lambda: tokenize_inputs(texts, model=model, cl100k=self.cl100k, truncate=False)
        )
        result = await self.cache.embed(session=session, model=model, sequences=prepared.sequences)
        vectors = shape(result.vectors, normalize=model.spec.normalize, dimensions=None)
        return [
            ChunkEmbedding(
                index=c.index,
                text=c.text,
                start=c.start,
                end=c.end,
                tokens=c.tokens,
                **c.provenance(),
                embedding=encode(vector, self.encoding_format),
                cached=bool(hit),
            )
            for c, vector, hit in zip(chunks, vectors, result.hits, strict=True)
        ]
