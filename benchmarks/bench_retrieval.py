"""Retrieval quality of a vector store on a BEIR-format collection: nDCG@10, Recall@50 and
MRR@10 for dense, BM25 and hybrid ranking, computed by pytrec_eval (trec_eval's own code).

    python -m benchmarks.bench_retrieval --beir DIR [--server URL] [--split test]

DIR holds corpus.jsonl ({"_id", "title", "text"}), queries.jsonl ({"_id", "text"}) and
qrels/SPLIT.tsv (query-id, corpus-id, score; a header line). Every document is uploaded as a
file through the HTTP API, one store is filled by file batches, and every query of the split
is searched three ways (dense, BM25, and the service's hybrid); two other fusions of the
dense and BM25 rankings are computed beside it for comparison. Without --server a
`ragprep serve` is started on a temporary storage directory. A document's rank is that of
its best chunk. OpenAI caps max_num_results at 50, so recall is measured at 50, not BEIR's
usual 100.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytrec_eval

from benchmarks.live import live_server

DEPTH = 50  # OpenAI's largest max_num_results
BATCH = 500
MODES: dict[str, dict[str, Any]] = {
    "dense": {"hybrid_search": {"embedding_weight": 1, "text_weight": 0}},
    "bm25": {"hybrid_search": {"embedding_weight": 0, "text_weight": 1}},
    "hybrid": {},  # the service's default fusion
}
# trec_eval's measure names as requested, and as its results name them.
REQUESTED = {"ndcg_cut.10", "recall.50"}
MEASURES = {"ndcg_cut_10": "nDCG@10", "recall_50": "Recall@50"}


@dataclass(frozen=True)
class Collection:
    corpus: dict[str, str]  # doc id -> title and text
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def read_beir(folder: Path, split: str = "test") -> Collection:
    corpus: dict[str, str] = {}
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        title = doc.get("title") or ""
        corpus[str(doc["_id"])] = f"{title}\n\n{doc['text']}" if title else doc["text"]
    queries = {
        str(q["_id"]): q["text"]
        for q in map(json.loads, (folder / "queries.jsonl").read_text("utf-8").splitlines())
    }
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as handle:
        rows = csv.reader(handle, delimiter="\t")
        next(rows)  # header
        for query_id, doc_id, score in rows:
            qrels.setdefault(query_id, {})[doc_id] = int(score)
    return Collection(corpus, {q: queries[q] for q in qrels}, qrels)


def fill_store(client: httpx.Client, corpus: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A store of the corpus, indexed; and the BEIR doc id of each file id."""
    docs: dict[str, str] = {}
    for doc_id, text in corpus.items():
        upload = client.post("/v1/files", files={"file": (f"{doc_id}.txt", text.encode())})
        upload.raise_for_status()
        docs[upload.json()["id"]] = doc_id
    store = client.post("/v1/vector_stores", json={"name": "beir"}).json()["id"]
    ids = list(docs)
    for start in range(0, len(ids), BATCH):
        batch = client.post(
            f"/v1/vector_stores/{store}/file_batches", json={"file_ids": ids[start : start + BATCH]}
        )
        batch.raise_for_status()
    while (counts := client.get(f"/v1/vector_stores/{store}").json()["file_counts"])["in_progress"]:
        time.sleep(0.5)
    if counts["failed"]:
        print(f"warning: {counts['failed']} documents failed to index", file=sys.stderr)
    return store, docs


Run = dict[str, dict[str, float]]  # query id -> doc id -> score


def run_mode(
    client: httpx.Client, store: str, docs: dict[str, str], queries: dict[str, str], mode: str
) -> Run:
    """Per query, each document with the score of its best chunk."""
    run: dict[str, dict[str, float]] = {}
    for query_id, text in queries.items():
        response = client.post(
            f"/v1/vector_stores/{store}/search",
            json={"query": text, "max_num_results": DEPTH, "ranking_options": MODES[mode]},
        )
        response.raise_for_status()
        ranked: dict[str, float] = {}
        for hit in response.json()["data"]:
            ranked.setdefault(docs[hit["file_id"]], hit["score"])
        run[query_id] = ranked
    return run


def offline_fusions(dense: Run, bm25: Run) -> dict[str, Run]:
    """The alternatives to the service's fusion, computed from its dense and BM25 rankings:
    reciprocal rank fusion (k=60, Cormack et al.) and the normalized-score mean, equal weights."""
    fused: dict[str, Run] = {"rrf k=60 (offline)": {}, "mean 0.5/0.5 (offline)": {}}
    for query in dense.keys() | bm25.keys():
        rrf: dict[str, float] = {}
        mean: dict[str, float] = {}
        for ranking in (dense.get(query, {}), bm25.get(query, {})):
            ordered = sorted(ranking.items(), key=lambda item: -item[1])
            if not ordered:
                continue
            high, low = ordered[0][1], ordered[-1][1]
            for rank, (doc, score) in enumerate(ordered, start=1):
                rrf[doc] = rrf.get(doc, 0.0) + 1 / (60 + rank)
                share = (score - low) / (high - low) if high > low else 1.0
                mean[doc] = mean.get(doc, 0.0) + share / 2
        fused["rrf k=60 (offline)"][query] = rrf
        fused["mean 0.5/0.5 (offline)"][query] = mean
    return fused


def scores(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    """Means over the queries: nDCG@10, Recall@50, and MRR@10 (recip_rank of the top 10)."""
    measured = pytrec_eval.RelevanceEvaluator(qrels, REQUESTED).evaluate(run)
    top10 = {q: dict(sorted(d.items(), key=lambda x: -x[1])[:10]) for q, d in run.items()}
    reciprocal = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    result = {
        label: sum(m[key] for m in measured.values()) / len(qrels)
        for key, label in MEASURES.items()
    }
    result["MRR@10"] = sum(m["recip_rank"] for m in reciprocal.values()) / len(qrels)
    return result


def evaluate(server_url: str, collection: Collection) -> dict[str, dict[str, float]]:
    with httpx.Client(base_url=server_url, timeout=600) as client:
        store, docs = fill_store(client, collection.corpus)
        runs = {mode: run_mode(client, store, docs, collection.queries, mode) for mode in MODES}
    runs.update(offline_fusions(runs["dense"], runs["bm25"]))
    return {mode: scores(collection.qrels, run) for mode, run in runs.items()}


@contextmanager
def server(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with (
        tempfile.TemporaryDirectory(prefix="bench-retrieval-") as folder,
        live_server(Path(folder) / "storage", timeout=120) as running,
    ):
        yield running.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--beir", type=Path, required=True, help="BEIR dataset folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--server", help="a running ragprep (default: start one)")
    args = parser.parse_args()
    collection = read_beir(args.beir, args.split)
    print(f"{args.beir}: {len(collection.corpus)} documents, {len(collection.qrels)} queries")
    with server(args.server) as url:
        started = time.perf_counter()
        results = evaluate(url, collection)
    print(f"indexed and searched in {time.perf_counter() - started:.1f} s")
    print(f"{'ranking':24s} {'nDCG@10':>8s} {'Recall@50':>10s} {'MRR@10':>8s}")
    for mode, values in results.items():
        print(
            f"{mode:24s} {values['nDCG@10']:8.3f} {values['Recall@50']:10.3f} "
            f"{values['MRR@10']:8.3f}"
        )


if __name__ == "__main__":
    main()
