"""Dense search latency, recall and memory at 100k and 1M synthetic chunks (384-d, MiniLM's
size): the vector indexes compared side by side.

    python -m benchmarks.bench_vector_search [--sizes 100000 1000000] [--queries 200]
        [--data clustered|uniform] [--libraries usearch faiss]

Cases, interleaved query by query in one process (figures: p50/p95 over the queries):
- exact: `app.services.vector_stores.dense.top_k` without a graph (the service below
  `vector_index_min_chunks`), and the naive baseline (the same product, then a full argsort);
- the service's graph search: `top_k` with its hnswlib graph (HNSW, candidates over-fetched
  and rescored exactly), unfiltered and with a filter letting 10% of files through;
- the other candidates, each an HNSW graph (M 16, ef 64 to build, 128 to search) asked for the
  same candidates and rescored the same way: usearch (int8), faiss-cpu (HNSWFlat, float32).
  They come from the `bench` extra; a library not installed is skipped.
Recall@10 is against the exact search. Memory: each index's bytes (RSS growth while it was
built), and the process's peak RSS. Data: `clustered` (unit vectors around 1 centre per 100
chunks, queries drawn the same way, as real embeddings cluster by topic) or `uniform` (random
directions: no structure, the hardest case for a graph).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.services.vector_stores.dense import OVERFETCH, Matrix, top_k
from app.services.vector_stores.graph import (
    CONNECTIVITY,
    EXPANSION_ADD,
    EXPANSION_SEARCH,
    Graph,
)

DIMENSIONS = 384
FILES = 1000  # chunks are spread over this many files (filters select files)
K = 100  # the depth the service ranks (search.CANDIDATES)
SLICE = 50_000
THREADS = 2


def machine_line() -> str:
    models = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"Machine: nproc {os.cpu_count()}, {models[0] if models else platform.processor()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, load average {load}"
    )


def rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def unit(block: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    block /= np.linalg.norm(block, axis=1, keepdims=True)
    return block


class Data:
    """Unit vectors, uniform or around centres (one per 100 chunks), and queries alike."""

    def __init__(self, kind: str, rows: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.kind = kind
        self.centres = self.rng.standard_normal((max(rows // 100, 10), DIMENSIONS), np.float32)

    def draw(self, rows: int) -> npt.NDArray[np.float32]:
        noise = self.rng.standard_normal((rows, DIMENSIONS), dtype=np.float32)
        if self.kind == "uniform":
            return unit(noise)
        centres = self.centres[self.rng.integers(0, len(self.centres), rows)]
        return unit(centres + 0.8 * noise)

    def matrix(self, rows: int) -> npt.NDArray[np.float32]:
        vectors = np.empty((rows, DIMENSIONS), np.float32)
        for start in range(0, rows, SLICE):
            vectors[start : start + SLICE] = self.draw(min(SLICE, rows - start))
        return vectors


def matrix_of(vectors: npt.NDArray[np.float32], graph: Graph | None = None) -> Matrix:
    rows = len(vectors)
    ids = np.arange(rows, dtype=np.int64)
    return Matrix(
        version=0,
        ids=ids,
        files=(np.arange(rows) % FILES).astype(np.int32),
        file_ids=tuple(f"file_{i}" for i in range(FILES)),
        vectors=vectors,
        graph=graph,
        min_graph=0 if graph is None else 20_000,
        order=None if graph is None else np.argsort(ids),
        sorted_ids=None if graph is None else ids,
    )


def full_sort(matrix: Matrix, query: npt.NDArray[np.float32]) -> list[int]:
    scores = matrix.vectors @ query[0]
    return [int(i) for i in np.argsort(-scores)[:K]]


Search = Callable[[npt.NDArray[np.float32]], npt.NDArray[np.int64]]  # one query -> candidate ids


def build_usearch(vectors: npt.NDArray[np.float32]) -> Search:
    from usearch.index import Index

    index = Index(
        ndim=DIMENSIONS,
        metric="cos",
        dtype="i8",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=max(EXPANSION_SEARCH, K * OVERFETCH),
    )
    index.add(np.arange(len(vectors)), vectors, threads=THREADS)
    return lambda q: np.asarray(index.search(q[0], K * OVERFETCH, threads=1).keys, np.int64)


def build_faiss(vectors: npt.NDArray[np.float32]) -> Search:
    import faiss

    faiss.omp_set_num_threads(THREADS)
    index = faiss.IndexHNSWFlat(DIMENSIONS, CONNECTIVITY, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EXPANSION_ADD
    index.add(vectors)
    faiss.omp_set_num_threads(1)
    index.hnsw.efSearch = max(EXPANSION_SEARCH, K * OVERFETCH)
    return lambda q: np.asarray(index.search(q, K * OVERFETCH)[1][0], np.int64)


def rescored(vectors: npt.NDArray[np.float32], search: Search) -> Callable[..., list[int]]:
    """As the service does: the candidates' exact cosines, best K."""

    def run(query: npt.NDArray[np.float32]) -> list[int]:
        rows = search(query)
        rows = rows[rows >= 0]
        scores = vectors[rows] @ query[0]
        return [int(rows[i]) for i in np.argsort(-scores, kind="stable")[:K]]

    return run


def timed_build(name: str, build: Callable[[], object]) -> object:
    before, started = rss_bytes(), time.perf_counter()
    built = build()
    seconds, grown = time.perf_counter() - started, rss_bytes() - before
    print(f"  built {name:30s} in {seconds:7.1f} s, index {grown / 2**20:7.0f} MiB", flush=True)
    return built


def ids_of(found: object) -> list[int]:
    """Chunk ids from top_k's [(id, score)] of one query, or a plain id list."""
    if isinstance(found, list) and found and isinstance(found[0], list):
        return [i for i, _ in found[0]]
    assert isinstance(found, list)
    return [int(i) for i in found]


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"


def run_size(rows: int, queries: int, kind: str, libraries: list[str]) -> None:
    data = Data(kind, rows, seed=rows)
    vectors = data.matrix(rows)
    print(
        f"\n{rows:,} chunks x {DIMENSIONS} float32 ({kind}): matrix "
        f"{vectors.nbytes / 2**20:,.0f} MiB",
        flush=True,
    )
    exact = matrix_of(vectors)
    graph = Graph(DIMENSIONS)
    ids = np.arange(rows, dtype=np.int64)
    timed_build("hnswlib (the service)", lambda: graph.update(ids[:0], ids, vectors))
    service = matrix_of(vectors, graph)
    allowed = [f"file_{i}" for i in range(0, FILES, 10)]
    cases: dict[str, Callable[[npt.NDArray[np.float32]], object]] = {
        "exact (service below the threshold)": lambda q: top_k(exact, q, K, None),
        "baseline: product + full argsort": lambda q: full_sort(exact, q),
        "service: hnswlib graph + rescoring": lambda q: top_k(service, q, K, None),
        "service, filter: 10% of files": lambda q: top_k(service, q, K, allowed),
        "exact, filter: 10% of files": lambda q: top_k(exact, q, K, allowed),
    }
    builders = {"usearch": build_usearch, "faiss": build_faiss}
    for name in libraries:
        if name in builders and importlib.util.find_spec(name) is None:
            print(f"  {name}: not installed (pip install -e '.[bench]'), skipped")
        elif name in builders:
            build = builders[name]
            search = timed_build(name, partial(build, vectors))
            cases[f"{name} + rescoring"] = rescored(vectors, search)  # type: ignore[arg-type]
    times: dict[str, list[float]] = {name: [] for name in cases}
    recall: dict[str, list[float]] = {name: [] for name in cases}
    for case in cases.values():  # warm-up: caches, BLAS threads
        case(data.draw(1))
    for _ in range(queries):
        query = data.draw(1)
        truth: set[int] = set()
        for name, case in cases.items():
            started = time.perf_counter()
            found = ids_of(case(query))[:10]
            times[name].append(time.perf_counter() - started)
            truth = truth or set(found)  # the first case is the exact search
            recall[name].append(len(truth & set(found)) / 10)
    baseline = statistics.median(times["baseline: product + full argsort"])
    for name, samples in times.items():
        ratio = baseline / statistics.median(samples)
        filtered = "filter" in name  # its truth is the unfiltered search: recall not comparable
        shown = "   n/a" if filtered else f"{statistics.mean(recall[name]):.4f}"
        print(f"  {name:38s} {percentiles(samples)}  recall@10 {shown}  ({ratio:.2f}x baseline)")
    print(
        f"  service graph: {graph.nbytes / 2**20:,.0f} MiB (slots x slot size); "
        f"peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
    )
    same = ids_of(top_k(service, query, 10, allowed)) == ids_of(top_k(exact, query, 10, allowed))
    print(f"  filtered service search equals filtered exact search (last query): {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data", choices=["clustered", "uniform"], default="clustered")
    parser.add_argument("--libraries", nargs="*", default=["usearch", "faiss"])
    args = parser.parse_args()
    print(machine_line())
    for rows in args.sizes:
        run_size(rows, args.queries, args.data, args.libraries)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
