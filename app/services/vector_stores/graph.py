"""Approximate dense search for large stores: an HNSW graph (hnswlib) over each store's
vectors, keyed by chunk row id and updated in place as chunks are added and removed.

Chosen by measurement (benchmarks/bench_vector_search.py, README "Vector search"): hnswlib,
usearch and faiss-cpu all held the latency targets with recall@10 above 0.95; hnswlib was the
fastest to search, removes ids in place (faiss's HNSW cannot), and, unlike usearch, can share
a process with OpenVINO (importing usearch made OpenVINO fail to compile the embedding model).
The graph only proposes candidates: they are rescored exactly against the store's float32
matrix, so the scores returned are true cosines."""

from __future__ import annotations

import threading

import hnswlib
import numpy as np
import numpy.typing as npt

CONNECTIVITY = 16  # HNSW's M: edges per node
EXPANSION_ADD = 64  # ef while building
EXPANSION_SEARCH = 128  # ef while searching (raised to the count asked for, if larger)
BUILD_THREADS = 2


class Graph:
    """One store's HNSW graph. A lock serializes updates and searches: hnswlib does not
    promise a search is safe while ids are marked deleted."""

    def __init__(self, dimensions: int) -> None:
        self._index = hnswlib.Index(space="ip", dim=dimensions)
        self._index.init_index(max_elements=1, M=CONNECTIVITY, ef_construction=EXPANSION_ADD)
        self._lock = threading.Lock()
        self._live = 0

    def __len__(self) -> int:
        return self._live

    @property
    def nbytes(self) -> int:
        """About: each slot holds its float32 vector, its level-0 links, its id."""
        capacity = int(self._index.get_max_elements())
        slot = 4 * int(self._index.dim) + 4 * (2 * CONNECTIVITY + 1) + 8
        return capacity * slot

    def update(
        self,
        removed: npt.NDArray[np.int64],
        added: npt.NDArray[np.int64],
        vectors: npt.NDArray[np.float32],
    ) -> None:
        """Blocking: mark the removed chunk ids deleted, add the new ones with their vectors
        (an id seen before is brought back with its new vector)."""
        with self._lock:
            for chunk_id in removed.tolist():
                self._index.mark_deleted(chunk_id)
            self._live -= len(removed)
            if len(added):
                needed = self._index.get_current_count() + len(added)
                if needed > self._index.get_max_elements():
                    self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
                self._index.add_items(vectors, added, num_threads=BUILD_THREADS)
                self._live += len(added)

    def candidates(self, query: npt.NDArray[np.float32], count: int) -> npt.NDArray[np.int64]:
        """Blocking: the ids of about the `count` nearest chunks to one unit query vector
        (fewer, or none, if the graph cannot find that many: callers fall back to exact)."""
        with self._lock:
            count = min(count, self._live)
            if count <= 0:
                return np.empty(0, np.int64)
            self._index.set_ef(max(EXPANSION_SEARCH, count))
            try:
                labels, _ = self._index.knn_query(query, k=count, num_threads=1)
            except RuntimeError:  # fewer than `count` reachable (many deleted)
                return np.empty(0, np.int64)
        return np.asarray(labels[0], dtype=np.int64)
