"""A stored file's chunks (reusing stored chunks) embedded through the cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.engine.base import Tokenizer
from app.services.chunk_store import ChunkSet
from app.services.embedding_cache import CachedVectors, EmbeddingCache
from app.services.pipeline import ChunkEmbedder, ChunkParams, EmbeddedChunk


@dataclass(frozen=True)
class FileEmbedder:
    params: ChunkParams
    cl100k: Tokenizer
    cache: EmbeddingCache
    session_factory: async_sessionmaker[AsyncSession]

    async def stream(self, chunk_set: ChunkSet) -> AsyncIterator[list[EmbeddedChunk]]:
        """Embedded chunks in document order, a step at a time, with a session of its own
        (a streaming response outlives the request's dependencies)."""
        model = self.params.model
        async with self.session_factory() as session:

            async def embed(sequences: list[list[int]]) -> CachedVectors:
                return await self.cache.embed(session=session, model=model, sequences=sequences)

            embedder = ChunkEmbedder(model=model, cl100k=self.cl100k, embed=embed)
            async for step in embedder.steps(chunk_set.chunks):
                yield step
