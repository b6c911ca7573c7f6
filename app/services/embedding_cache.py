"""A persistent vector cache keyed by model identity and the exact token sequence embedded.

Keying by the model-vocabulary token ids (not the raw text) is the same as keying by the text
for text inputs, and stays exact for token-id inputs and truncated inputs too. Model identity
is the model name plus its file's sha256, so a replaced model file never serves stale vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.dialect import insert_ignoring_duplicates
from app.db.session import end_read
from app.db.tables import EmbeddingCacheRow
from app.engine.catalog import LoadedModel
from app.engine.vectors import Vectors
from app.observability.metrics import Metrics

# SQLite binds at most 32766 parameters per statement; stay far below it.
_LOOKUP_SLICE = 500


def sequence_key(tokens: Sequence[int]) -> str:
    return hashlib.sha256(np.asarray(tokens, dtype="<i4").tobytes()).hexdigest()


@dataclass(frozen=True)
class CachedVectors:
    vectors: Vectors
    hits: npt.NDArray[np.bool_]  # which rows came from the cache


@dataclass
class EmbeddingCache:
    enabled: bool
    metrics: Metrics | None = None

    async def embed(
        self, *, session: AsyncSession, model: LoadedModel, sequences: list[list[int]]
    ) -> CachedVectors:
        """Raw pooled vectors for `sequences`, computing only what the cache lacks."""
        if not self.enabled:
            vectors = await model.engine.embed(sequences)
            return CachedVectors(vectors, np.zeros(len(sequences), dtype=np.bool_))
        key = model.identity
        hashes = [sequence_key(s) for s in sequences]
        found = await self._lookup(session, key, hashes)
        missing = [i for i, h in enumerate(hashes) if h not in found]
        if self.metrics is not None:
            lookups = self.metrics.cache_lookups
            lookups.labels(model.name, "hit").inc(len(sequences) - len(missing))
            lookups.labels(model.name, "miss").inc(len(missing))
        out = np.empty((len(sequences), model.dimensions), dtype=np.float32)
        hits = np.ones(len(sequences), dtype=np.bool_)
        hits[missing] = False
        for i, h in enumerate(hashes):
            if h in found:
                out[i] = found[h]
        if missing:
            computed = await model.engine.embed([sequences[i] for i in missing])
            out[missing] = computed
            await self._store(session, key, {hashes[i]: computed[n] for n, i in enumerate(missing)})
        return CachedVectors(out, hits)

    async def _lookup(
        self, session: AsyncSession, key: str, hashes: list[str]
    ) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), _LOOKUP_SLICE):
            rows = await session.execute(
                select(EmbeddingCacheRow.text_sha256, EmbeddingCacheRow.vector).where(
                    EmbeddingCacheRow.model_key == key,
                    EmbeddingCacheRow.text_sha256.in_(unique[start : start + _LOOKUP_SLICE]),
                )
            )
            for digest, blob in rows:
                found[digest] = np.frombuffer(blob, dtype="<f4")
        await end_read(session)
        return found

    async def _store(self, session: AsyncSession, key: str, vectors: dict[str, Vectors]) -> None:
        # In key order: two PostgreSQL transactions inserting overlapping keys then wait for
        # each other in the same order, never in a cycle (a deadlock).
        rows = [
            {
                "model_key": key,
                "text_sha256": digest,
                "vector": vectors[digest].astype("<f4").tobytes(),
            }
            for digest in sorted(vectors)
        ]
        statement = insert_ignoring_duplicates(EmbeddingCacheRow, session.get_bind().dialect.name)
        await session.execute(statement, rows)
        await session.commit()
