"""Approximate dense search for large stores: an HNSW graph (usearch) over each store's vectors,
keyed by chunk row id and updated in place as chunks are added and removed.

Chosen by measurement (benchmarks/bench_vector_search.py, README "Vector search"): against
exact search, hnswlib and faiss-cpu, usearch held the latency targets with recall@10 above
0.95, removes keys in place (faiss's HNSW cannot) and stores its vectors quantized to int8,
a quarter of float32. The graph only proposes candidates: they are rescored exactly against
the store's float32 matrix, so the scores returned are true cosines and quantization costs
no precision, only (measured) a little recall, which over-fetching buys back."""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
from usearch.index import Index

CONNECTIVITY = 16  # HNSW's M: edges per node
EXPANSION_ADD = 64  # ef while building
EXPANSION_SEARCH = 128  # ef while searching (raised to the count asked for, if larger)
BUILD_THREADS = 2


class Graph:
    """One store's HNSW graph. A lock serializes updates and searches: usearch does not
    promise a search is safe while keys are removed."""

    def __init__(self, dimensions: int) -> None:
        self._index = Index(
            ndim=dimensions,
            metric="cos",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._index)

    @property
    def nbytes(self) -> int:
        return int(self._index.memory_usage)

    def update(
        self,
        removed: npt.NDArray[np.int64],
        added: npt.NDArray[np.int64],
        vectors: npt.NDArray[np.float32],
    ) -> None:
        """Blocking: drop the removed chunk ids, add the new ones with their vectors."""
        with self._lock:
            if len(removed):
                self._index.remove(removed)
            if len(added):
                self._index.add(added, vectors, threads=BUILD_THREADS)

    def candidates(self, query: npt.NDArray[np.float32], count: int) -> npt.NDArray[np.int64]:
        """Blocking: the ids of about the `count` nearest chunks to one unit query vector."""
        with self._lock:
            count = min(count, len(self._index))
            if count <= 0:
                return np.empty(0, np.int64)
            found = self._index.search(query, count, threads=1)  # one query: no pool
        return np.asarray(found.keys, dtype=np.int64)
