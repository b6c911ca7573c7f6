"""Exact dense search: each store's vectors as one float32 matrix in memory, ranked by a
matrix-vector product (cosine: the vectors are unit length), recall 1.0 by construction.
Measured (benchmarks/bench_vector_search.py, README): memory-mapping is no faster; the product
is bound by memory bandwidth, so past about 100k chunks per store an approximate index would
be needed to hold the latency targets on a 2-core machine.

The database is the source of truth: the matrix is refreshed when the store's index_version
(bumped in every transaction that adds or removes its chunks) differs from the one loaded, so
a search on any replica right after indexing sees the new chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import VectorStoreChunkRow

_LOAD_SLICE = 500  # ids per IN (...) when loading new rows


@dataclass(frozen=True)
class Matrix:
    version: int
    ids: npt.NDArray[np.int64]  # chunk row ids, one per matrix row
    files: npt.NDArray[np.int32]  # index into file_ids, one per matrix row
    file_ids: tuple[str, ...]
    vectors: npt.NDArray[np.float32]  # (rows, dimensions), unit length

    @classmethod
    def empty(cls) -> Matrix:
        return cls(-1, np.empty(0, np.int64), np.empty(0, np.int32), (), np.empty((0, 0), "<f4"))


def top_k(
    matrix: Matrix, queries: npt.NDArray[np.float32], k: int, allowed: Sequence[str] | None
) -> list[list[tuple[int, float]]]:
    """Blocking (numpy, run in a thread): per query the best `k` (chunk id, cosine)."""
    if not len(matrix.ids):
        return [[] for _ in queries]
    scores = matrix.vectors @ queries.T  # (rows, queries)
    if allowed is not None:
        wanted = set(allowed)
        codes = [i for i, f in enumerate(matrix.file_ids) if f in wanted]
        scores[~np.isin(matrix.files, codes)] = -np.inf
    found: list[list[tuple[int, float]]] = []
    for column in scores.T:
        k_here = min(k, len(column))
        best = np.argpartition(-column, k_here - 1)[:k_here]
        best = best[np.argsort(-column[best], kind="stable")]
        found.append(
            [(int(matrix.ids[i]), float(column[i])) for i in best if np.isfinite(column[i])]
        )
    return found


class DenseIndex:
    """Matrices of the stores searched in this process, each refreshed on a version change."""

    def __init__(self) -> None:
        self._matrices: dict[str, Matrix] = {}
        self._locks: dict[str, anyio.Lock] = {}

    def forget(self, store_id: str) -> None:
        self._matrices.pop(store_id, None)

    async def matrix(self, session: AsyncSession, store_id: str, version: int) -> Matrix:
        lock = self._locks.setdefault(store_id, anyio.Lock())
        async with lock:
            current = self._matrices.get(store_id, Matrix.empty())
            if current.version != version:
                current = await _refresh(session, store_id, version, current)
                self._matrices[store_id] = current
            return current


async def _refresh(session: AsyncSession, store_id: str, version: int, old: Matrix) -> Matrix:
    """Keep the rows still stored, load only the new ones (ids alone say which)."""
    where = VectorStoreChunkRow.store_id == store_id
    ids = np.fromiter(
        await session.scalars(select(VectorStoreChunkRow.id).where(where)), dtype=np.int64
    )
    keep = np.isin(old.ids, ids)
    new_ids = np.setdiff1d(ids, old.ids[keep], assume_unique=True).tolist()
    columns = (VectorStoreChunkRow.id, VectorStoreChunkRow.file_id, VectorStoreChunkRow.vector)
    loaded: list[tuple[int, str, bytes]] = []
    if len(new_ids) == len(ids):  # a first load: one scan, not thousands of IN lists
        loaded = [tuple(r) for r in await session.execute(select(*columns).where(where))]  # type: ignore[misc]
    else:
        for start in range(0, len(new_ids), _LOAD_SLICE):
            part = new_ids[start : start + _LOAD_SLICE]
            query = select(*columns).where(VectorStoreChunkRow.id.in_(part))
            loaded.extend(tuple(r) for r in await session.execute(query))  # type: ignore[misc]
    await session.commit()
    return await anyio.to_thread.run_sync(_merge, old, keep, loaded, version)


def _merge(
    old: Matrix, keep: npt.NDArray[np.bool_], loaded: list[tuple[int, str, bytes]], version: int
) -> Matrix:
    file_ids = list(old.file_ids)
    codes = {f: i for i, f in enumerate(file_ids)}
    for _, file_id, _ in loaded:
        if file_id not in codes:
            codes[file_id] = len(file_ids)
            file_ids.append(file_id)
    new_vectors = np.frombuffer(b"".join(v for _, _, v in loaded), dtype="<f4")
    if loaded:
        new_vectors = new_vectors.reshape(len(loaded), -1)
    old_vectors = old.vectors[keep] if len(old.ids) else None
    if old_vectors is None or not len(old_vectors):
        vectors = new_vectors if loaded else np.empty((0, 0), "<f4")
    elif loaded:
        vectors = np.concatenate([old_vectors, new_vectors])
    else:
        vectors = old_vectors
    return Matrix(
        version=version,
        ids=np.concatenate([old.ids[keep], np.array([i for i, _, _ in loaded], np.int64)]),
        files=np.concatenate(
            [old.files[keep], np.array([codes[f] for _, f, _ in loaded], np.int32)]
        ),
        file_ids=tuple(file_ids),
        vectors=np.ascontiguousarray(vectors, dtype=np.float32),
    )
