"""Dense search latency and memory at 100k and 1M synthetic chunks (384-d, MiniLM's size).

    python -m benchmarks.bench_vector_search [--sizes 100000 1000000] [--queries 200]

Times `app.services.vector_stores.dense.top_k`, the exact search the service runs (one
matrix-vector product over unit float32 vectors, then argpartition), on: the matrix in RAM (as
the service keeps it), the same matrix memory-mapped from a file (page cache warm), and a
filtered search (a tenth of the files allowed). The baseline in the same run is the naive
exact search: the same product, then a full argsort. Cases are interleaved query by query;
figures are p50/p95 over the queries. Memory: the matrix's bytes and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.services.vector_stores.dense import Matrix, top_k

DIMENSIONS = 384
FILES = 1000  # chunks are spread over this many files (filters select files)
K = 100  # the depth the service ranks (search.CANDIDATES)
SLICE = 50_000


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


def unit_rows(rng: np.random.Generator, rows: int) -> npt.NDArray[np.float32]:
    block = rng.standard_normal((rows, DIMENSIONS), dtype=np.float32)
    block /= np.linalg.norm(block, axis=1, keepdims=True)
    return block


def make_mapped(path: Path, rows: int, seed: int) -> npt.NDArray[np.float32]:
    """Unit vectors written slice by slice into a float32 file, opened memory-mapped."""
    rng = np.random.default_rng(seed)
    mapped = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, DIMENSIONS))
    for start in range(0, rows, SLICE):
        mapped[start : start + SLICE] = unit_rows(rng, min(SLICE, rows - start))
    mapped.flush()
    del mapped
    return np.load(path, mmap_mode="r")  # type: ignore[no-any-return]


def matrix_of(vectors: npt.NDArray[np.float32]) -> Matrix:
    rows = len(vectors)
    return Matrix(
        version=0,
        ids=np.arange(rows, dtype=np.int64),
        files=(np.arange(rows) % FILES).astype(np.int32),
        file_ids=tuple(f"file_{i}" for i in range(FILES)),
        vectors=vectors,
    )


def full_sort(matrix: Matrix, query: npt.NDArray[np.float32]) -> list[int]:
    scores = matrix.vectors @ query[0]
    return [int(i) for i in np.argsort(-scores)[:K]]


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"


def run_size(rows: int, queries: int, folder: Path) -> None:
    mapped = make_mapped(folder / f"vectors-{rows}.npy", rows, seed=rows)
    in_ram = matrix_of(np.ascontiguousarray(mapped))
    on_disk = matrix_of(mapped)
    allowed = [f"file_{i}" for i in range(0, FILES, 10)]
    query_rng = np.random.default_rng(7)
    cases: dict[str, Callable[[npt.NDArray[np.float32]], object]] = {
        "exact, matrix in RAM (the service)": lambda q: top_k(in_ram, q, K, None),
        "exact, memory-mapped file": lambda q: top_k(on_disk, q, K, None),
        "exact in RAM, filter: 10% of files": lambda q: top_k(in_ram, q, K, allowed),
        "baseline: product + full argsort": lambda q: full_sort(in_ram, q),
    }
    for case in cases.values():  # warm-up: page cache, BLAS threads
        case(unit_rows(query_rng, 1))
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(queries):
        query = unit_rows(query_rng, 1)
        for name, case in cases.items():
            started = time.perf_counter()
            case(query)
            times[name].append(time.perf_counter() - started)
    same = top_k(in_ram, query, 10, None)[0] == top_k(on_disk, query, 10, None)[0]
    print(
        f"\n{rows:,} chunks x {DIMENSIONS} float32: matrix {in_ram.vectors.nbytes / 2**20:,.0f}"
        f" MiB; RAM and mapped results identical: {same}"
    )
    baseline = statistics.median(times["baseline: product + full argsort"])
    for name, samples in times.items():
        ratio = baseline / statistics.median(samples)
        print(f"  {name:38s} {percentiles(samples)}  ({ratio:.2f}x baseline)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS so far: {peak:,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-vectors-") as folder:
        for rows in args.sizes:
            run_size(rows, args.queries, Path(folder))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
