"""Dense search: each store's vectors as one float32 matrix in memory. Small stores (and
filters letting few chunks through) are ranked exactly by a matrix-vector product (cosine: the
vectors are unit length). Measured (benchmarks/bench_vector_search.py, README): the product is
bound by memory bandwidth, so from `vector_index_min_chunks` chunks a store also gets an HNSW
graph (graph.py) whose candidates are rescored exactly against the matrix.

The database is the source of truth: the matrix is refreshed when the store's index_version
(bumped in every transaction that adds or removes its chunks) differs from the one loaded, so
a search on any replica right after indexing sees the new chunks."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import anyio
import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import VectorStoreChunkRow
from app.services.vector_stores.graph import Graph
from app.services.vector_stores.rows import Rows, changes, file_mask

log = logging.getLogger(__name__)

# A store's first graph is built in the background (70 s for 100k chunks, 18 min for 1M on a
# loaded 2-core machine): searches are exact until it is ready. The first search waits this
# long for it, so small stores are searched through their graph at once.
FIRST_BUILD_WAIT = 2.0
# The graph is asked for this many times the hits wanted (divided by the share of chunks a
# filter lets through): rescoring the int8 graph's candidates exactly then keeps recall@10
# above 0.95 (measured, benchmarks/bench_vector_search.py).
OVERFETCH = 2


@dataclass(frozen=True)
class Matrix:
    version: int
    ids: npt.NDArray[np.int64]  # chunk row ids, one per matrix row
    files: npt.NDArray[np.int32]  # index into file_ids, one per matrix row
    file_ids: tuple[str, ...]
    vectors: npt.NDArray[np.float32]  # (rows, dimensions), unit length
    graph: Graph | None = None  # over the same chunk ids, for stores of min_graph rows or more
    min_graph: int = 0  # fewer chunks than this (in the store or let through): exact search
    order: npt.NDArray[np.intp] | None = None  # argsort of ids, to find a graph key's row
    sorted_ids: npt.NDArray[np.int64] | None = None  # ids[order]

    @classmethod
    def empty(cls) -> Matrix:
        return cls(-1, np.empty(0, np.int64), np.empty(0, np.int32), (), np.empty((0, 0), "<f4"))


Ranked = list[tuple[int, float]]  # (chunk id, cosine), best first


def top_k(
    matrix: Matrix, queries: npt.NDArray[np.float32], k: int, allowed: Sequence[str] | None
) -> list[Ranked]:
    """Blocking (numpy, run in a thread): per query the best `k` (chunk id, cosine)."""
    if not len(matrix.ids):
        return [[] for _ in queries]
    mask = None if allowed is None else file_mask(matrix.file_ids, matrix.files, allowed)
    selected = len(matrix.ids) if mask is None else int(np.count_nonzero(mask))
    if matrix.graph is None or selected < matrix.min_graph:
        return _exact(matrix, queries, k, mask)
    return [_approximate(matrix, query, k, mask, selected) for query in queries]


def _exact(
    matrix: Matrix, queries: npt.NDArray[np.float32], k: int, mask: npt.NDArray[np.bool_] | None
) -> list[Ranked]:
    rows = np.arange(len(matrix.ids)) if mask is None else np.flatnonzero(mask)
    if not len(rows):
        return [[] for _ in queries]
    vectors = matrix.vectors if mask is None else matrix.vectors[rows]
    scores = vectors @ queries.T  # (rows, queries)
    k_here = min(k, len(rows))
    found: list[Ranked] = []
    for column in scores.T:
        best = np.argpartition(-column, k_here - 1)[:k_here]
        best = best[np.argsort(-column[best], kind="stable")]
        found.append([(int(matrix.ids[rows[i]]), float(column[i])) for i in best])
    return found


def _approximate(
    matrix: Matrix,
    query: npt.NDArray[np.float32],
    k: int,
    mask: npt.NDArray[np.bool_] | None,
    selected: int,
) -> Ranked:
    """The graph's candidates, over-fetched by the share a filter lets through, rescored
    exactly. Too few left after the filter: the exact search over what it lets through."""
    assert matrix.graph is not None
    assert matrix.order is not None and matrix.sorted_ids is not None
    count = math.ceil(k * OVERFETCH * len(matrix.ids) / selected)
    keys = matrix.graph.candidates(query, count)
    # The graph may be newer than this matrix: ids it does not hold are dropped.
    sorted_ids = matrix.sorted_ids
    at = np.minimum(np.searchsorted(sorted_ids, keys), len(sorted_ids) - 1)
    rows = matrix.order[at[sorted_ids[at] == keys]]
    if mask is not None:
        rows = rows[mask[rows]]
    if len(rows) < min(k, selected):
        return _exact(matrix, query[None, :], k, mask)[0]
    scores = matrix.vectors[rows] @ query
    best = np.argsort(-scores, kind="stable")[:k]
    return [(int(matrix.ids[rows[i]]), float(scores[i])) for i in best]


@dataclass
class _Build:
    """A first graph, built over `ids` in a daemon thread (a shutdown does not wait for it)."""

    ids: npt.NDArray[np.int64]
    graph: Graph | None = None
    failed: bool = False
    thread: threading.Thread = field(init=False)

    @classmethod
    def start(cls, matrix: Matrix) -> _Build:
        build = cls(matrix.ids)
        build.thread = threading.Thread(
            target=build._run, args=(matrix.vectors,), name="vector-graph", daemon=True
        )
        build.thread.start()
        return build

    def _run(self, vectors: npt.NDArray[np.float32]) -> None:
        try:
            graph = Graph(vectors.shape[1])
            graph.update(np.empty(0, np.int64), self.ids, vectors)
            self.graph = graph
        except Exception:  # the store stays on exact search, which is still right
            log.exception("building a vector graph failed")
            self.failed = True


class DenseIndex:
    """Matrices of the stores searched in this process, each refreshed on a version change."""

    def __init__(self, min_graph: int) -> None:
        self._min_graph = min_graph
        self._matrices: dict[str, Matrix] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._builds: dict[str, _Build] = {}

    def forget(self, store_id: str) -> None:
        self._matrices.pop(store_id, None)
        self._builds.pop(store_id, None)

    async def matrix(self, session: AsyncSession, store_id: str, version: int) -> Matrix:
        lock = self._locks.setdefault(store_id, anyio.Lock())
        async with lock:
            current = self._matrices.get(store_id, Matrix.empty())
            if current.version != version:
                current = await _refresh(session, store_id, version, current, self._min_graph)
            current = await self._graphed(store_id, current)
            self._matrices[store_id] = current
            return current

    async def _graphed(self, store_id: str, matrix: Matrix) -> Matrix:
        """The matrix with its graph once one is built; a build started when it needs one."""
        if matrix.graph is not None or len(matrix.ids) < self._min_graph:
            return matrix
        build = self._builds.get(store_id)
        if build is None:
            build = self._builds[store_id] = _Build.start(matrix)
            await anyio.to_thread.run_sync(build.thread.join, FIRST_BUILD_WAIT)
        if build.thread.is_alive() or build.failed:
            return matrix
        del self._builds[store_id]
        assert build.graph is not None
        return await anyio.to_thread.run_sync(_attach, matrix, build.graph, build.ids)


async def _refresh(
    session: AsyncSession, store_id: str, version: int, old: Matrix, min_graph: int
) -> Matrix:
    """Keep the rows still stored, load only the new ones (ids alone say which)."""
    keep, loaded = await changes(session, store_id, old.ids, VectorStoreChunkRow.vector)
    merged = await anyio.to_thread.run_sync(_merge, old, keep, loaded, version)
    if old.graph is None:  # a first graph is built in the background (DenseIndex._graphed)
        return replace(merged, min_graph=min_graph)
    return await anyio.to_thread.run_sync(_with_graph, merged, old, keep, min_graph)


def _attach(matrix: Matrix, graph: Graph, built_ids: npt.NDArray[np.int64]) -> Matrix:
    """Blocking: a graph built over `built_ids`, brought up to the matrix's chunks (those
    removed and added while it was being built)."""
    removed = np.setdiff1d(built_ids, matrix.ids)
    added = ~np.isin(matrix.ids, built_ids)
    graph.update(removed, matrix.ids[added], matrix.vectors[added])
    order = np.argsort(matrix.ids)
    return replace(matrix, graph=graph, order=order, sorted_ids=matrix.ids[order])


def _with_graph(new: Matrix, old: Matrix, keep: npt.NDArray[np.bool_], min_graph: int) -> Matrix:
    """Blocking: the old matrix's graph updated in place (removed ids out, new ones in), or
    a graph built for a store that has reached min_graph chunks, or none below it."""
    if not len(new.ids) or len(new.ids) < min_graph:
        return replace(new, min_graph=min_graph)
    graph = old.graph
    if graph is None:
        graph = Graph(new.vectors.shape[1])
        graph.update(np.empty(0, np.int64), new.ids, new.vectors)
    else:
        kept = int(np.count_nonzero(keep))  # _merge puts the kept rows first, then the new
        graph.update(old.ids[~keep], new.ids[kept:], new.vectors[kept:])
    order = np.argsort(new.ids)
    return replace(new, graph=graph, min_graph=min_graph, order=order, sorted_ids=new.ids[order])


def _merge(
    old: Matrix, keep: npt.NDArray[np.bool_], loaded: list[tuple[int, str, bytes]], version: int
) -> Matrix:
    rows = Rows(old.ids, old.files, old.file_ids).grown(keep, loaded)
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
        ids=rows.ids,
        files=rows.files,
        file_ids=rows.file_ids,
        vectors=np.ascontiguousarray(vectors, dtype=np.float32),
    )
