"""benchmarks.bench_retrieval on a BEIR collection of real documents, through a live server:
the metrics are sane and hybrid ranking is at least as good as the better of dense and BM25."""

from __future__ import annotations

from pathlib import Path

from benchmarks.bench_retrieval import evaluate, read_beir
from benchmarks.live import live_server
from tests.benchmarks.licence_beir import write_collection


def test_hybrid_is_at_least_as_good_as_dense_and_bm25(tmp_path: Path, default_gguf: Path) -> None:
    queries = write_collection(tmp_path / "beir")
    collection = read_beir(tmp_path / "beir")
    assert len(collection.qrels) == queries >= 40
    with live_server(tmp_path / "storage") as server:
        results = evaluate(server.url, collection)
    for mode, values in results.items():
        for metric, value in values.items():
            assert 0.0 < value <= 1.0, (mode, metric, value)
        # One relevant document per query: recall is the share found in the top 50, which
        # bounds the top-10 measures from above.
        assert values["Recall@50"] >= values["MRR@10"]
    best_single = max(results["dense"]["nDCG@10"], results["bm25"]["nDCG@10"])
    assert results["hybrid"]["nDCG@10"] >= best_single, results
