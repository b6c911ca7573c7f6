"""Dense search through the usearch graph (app/services/vector_stores/dense.py, graph.py):
the same hits as exact search, filters honoured when they exclude the nearest chunks, and
the graph kept in step with removed and added chunks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from app.services.vector_stores.dense import Matrix, _with_graph, top_k
from app.services.vector_stores.graph import Graph

DIMENSIONS = 384


def unit(block: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    normalized: npt.NDArray[np.float32] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return normalized


def clustered(
    rng: np.random.Generator, rows: int, centre: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    noise = rng.standard_normal((rows, DIMENSIONS), dtype=np.float32)
    return unit(centre + 0.8 * noise).astype(np.float32)


def matrix(vectors: npt.NDArray[np.float32], files: list[int], first_id: int = 1) -> Matrix:
    file_ids = tuple(f"file-{i}" for i in range(max(files) + 1))
    ids = np.arange(first_id, first_id + len(vectors), dtype=np.int64)
    return Matrix(1, ids, np.array(files, np.int32), file_ids, vectors)


def with_graph(plain: Matrix, min_graph: int) -> Matrix:
    return _with_graph(plain, Matrix.empty(), np.empty(0, np.bool_), min_graph)


def test_graph_search_finds_what_exact_search_finds() -> None:
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((30, DIMENSIONS), dtype=np.float32)
    vectors = np.concatenate([clustered(rng, 100, c) for c in centres])
    plain = matrix(vectors, [i % 7 for i in range(len(vectors))])
    graphed = with_graph(plain, min_graph=1000)
    assert graphed.graph is not None and len(graphed.graph) == len(vectors)
    queries = np.concatenate([clustered(rng, 1, c) for c in centres[:20]])
    exact, approximate = top_k(plain, queries, 10, None), top_k(graphed, queries, 10, None)
    recall = np.mean(
        [
            len({i for i, _ in a} & {i for i, _ in e}) / 10
            for a, e in zip(approximate, exact, strict=True)
        ]
    )
    assert recall >= 0.95
    for a, e in zip(approximate, exact, strict=True):  # rescored exactly: the true cosines
        scores = dict(e)
        assert all(abs(score - scores[i]) < 1e-5 for i, score in a if i in scores)


def test_a_filter_excluding_the_nearest_chunks_still_fills_the_results() -> None:
    """The query sits in file 0's cluster; only file 1, far away, is let through: the graph's
    candidates are all file 0's, so the search falls back to file 1's exact ranking."""
    rng = np.random.default_rng(2)
    near, far = rng.standard_normal((2, DIMENSIONS), dtype=np.float32)
    vectors = np.concatenate([clustered(rng, 1800, near), clustered(rng, 200, far)])
    plain = matrix(vectors, [0] * 1800 + [1] * 200)
    graphed = with_graph(plain, min_graph=100)
    query = clustered(rng, 1, near)
    unfiltered = top_k(graphed, query, 10, None)[0]
    assert all(i <= 1800 for i, _ in unfiltered)  # the nearest are file 0's (ids 1..1800)
    filtered = top_k(graphed, query, 10, ["file-1"])[0]
    assert len(filtered) == 10 and all(i > 1800 for i, _ in filtered)
    assert filtered == top_k(plain, query, 10, ["file-1"])[0]


def test_the_graph_follows_removed_and_added_chunks() -> None:
    rng = np.random.default_rng(3)
    centre = rng.standard_normal(DIMENSIONS, dtype=np.float32)
    old = with_graph(matrix(clustered(rng, 500, centre), [0] * 500), min_graph=100)
    query = clustered(rng, 1, centre)
    gone = {i for i, _ in top_k(old, query, 10, None)[0]}
    # Refreshed as DenseIndex does: keep the rows still stored, then the new ones after them.
    keep = ~np.isin(old.ids, list(gone))
    added = unit(
        np.repeat(query, 3, axis=0) + 0.01 * rng.standard_normal((3, DIMENSIONS), dtype=np.float32)
    )
    new = Matrix(
        2,
        np.concatenate([old.ids[keep], np.array([1001, 1002, 1003], np.int64)]),
        np.zeros(int(keep.sum()) + 3, np.int32),
        old.file_ids,
        np.concatenate([old.vectors[keep], added.astype(np.float32)]),
    )
    new = _with_graph(new, old, keep, min_graph=100)
    assert new.graph is not None and new.graph is old.graph
    assert len(new.graph) == 500 - 10 + 3
    found = [i for i, _ in top_k(new, query, 10, None)[0]]
    assert set(found[:3]) == {1001, 1002, 1003} and not gone & set(found)
    # A search still holding the older matrix never returns ids it does not know.
    assert {i for i, _ in top_k(old, query, 10, None)[0]} <= set(old.ids.tolist())


def test_an_id_removed_then_added_again_comes_back_with_its_new_vector() -> None:
    """SQLite may hand a deleted chunk's row id to a new chunk."""
    rng = np.random.default_rng(4)
    vectors = unit(rng.standard_normal((300, DIMENSIONS), dtype=np.float32))
    graph = Graph(DIMENSIONS)
    ids = np.arange(1, 301, dtype=np.int64)
    graph.update(ids[:0], ids, vectors)
    query = vectors[0]
    assert graph.candidates(query, 1).tolist() == [1]
    graph.update(np.array([1], np.int64), ids[:0], vectors[:0])
    assert 1 not in graph.candidates(query, 50).tolist() and len(graph) == 299
    target = vectors[1:2].copy()
    graph.update(ids[:0], np.array([1], np.int64), target)  # id 1 again, now near chunk 2's
    assert len(graph) == 300 and set(graph.candidates(target[0], 2).tolist()) == {1, 2}
