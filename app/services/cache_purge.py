"""A deleted file's cached vectors go with it, unless another file's chunks hold the same text.

Otherwise anyone who can read /metrics could tell whether a guessed text had been embedded
(a cache hit or miss) long after the file holding it was deleted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import anyio
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import end_read
from app.db.tables import ChunkRow, ChunkSetRow, EmbeddingCacheRow
from app.engine.catalog import LoadedModel, ModelCatalog
from app.services.embedding_cache import sequence_key

# SQLite binds at most 32766 parameters per statement; stay far below it.
_SLICE = 500


async def vectors_only_in(
    session: AsyncSession, *, file_id: str, catalog: ModelCatalog
) -> dict[str, set[str]]:
    """Cache keys (model identity -> sequence hashes) of the file's chunk texts that no other
    file's chunks of the same model hold. Read before the file's rows go."""
    texts: dict[str, set[str]] = defaultdict(set)
    rows = await session.execute(
        select(ChunkSetRow.model, ChunkRow.text)
        .join(ChunkRow, ChunkRow.set_id == ChunkSetRow.id)
        .where(ChunkSetRow.file_id == file_id)
    )
    for model, text in rows:
        texts[model].add(text)
    for model, own in texts.items():
        own -= await _held_elsewhere(session, file_id, model, own)
    await end_read(session)
    models = {loaded.identity: loaded for loaded in catalog}
    # Vectors of a model no longer served are unreachable: nothing to look up, nothing to leak.
    served = {key: own for key, own in texts.items() if key in models and own}
    return await anyio.to_thread.run_sync(lambda: _keys(served, models))


async def _held_elsewhere(
    session: AsyncSession, file_id: str, model: str, texts: set[str]
) -> set[str]:
    held: set[str] = set()
    ordered = sorted(texts)
    for start in range(0, len(ordered), _SLICE):
        rows = await session.execute(
            select(ChunkRow.text)
            .join(ChunkSetRow, ChunkRow.set_id == ChunkSetRow.id)
            .where(
                ChunkSetRow.model == model,
                ChunkSetRow.file_id != file_id,
                ChunkRow.text.in_(ordered[start : start + _SLICE]),
            )
        )
        held.update(text for (text,) in rows)
    return held


def _keys(texts: dict[str, set[str]], models: dict[str, LoadedModel]) -> dict[str, set[str]]:
    """Blocking (a worker thread): the sequence hashes the cache stores for these texts."""
    return {
        key: {sequence_key(models[key].tokenizer.tokenize(text)) for text in own}
        for key, own in texts.items()
    }


async def forget(session: AsyncSession, keys: dict[str, set[str]]) -> None:
    """Delete these cached vectors (committed)."""
    for model_key, hashes in keys.items():
        for part in _slices(sorted(hashes)):
            await session.execute(
                delete(EmbeddingCacheRow).where(
                    EmbeddingCacheRow.model_key == model_key,
                    EmbeddingCacheRow.text_sha256.in_(part),
                )
            )
    await session.commit()


def _slices(items: list[str]) -> Iterable[list[str]]:
    return (items[start : start + _SLICE] for start in range(0, len(items), _SLICE))
