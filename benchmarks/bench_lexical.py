"""BM25 search latency on SQLite: each store's own FTS5 table (the service) against the one
table over every store's chunks it replaced (migration 0006b), side by side.

    python -m benchmarks.bench_lexical [--chunks 100000] [--other 100000] [--queries 200]

Two stores in one database: the one searched (--chunks) and another (--other) sharing its
vocabulary. Chunks are 150 words drawn from the vocabulary of real text (the chunking
benchmark's corpus: Debian copyright files, the common licenses, the test documents) with
Zipf's law, as word frequencies run in prose; queries are 5 of those words, drawn alike.
Each query runs through the service's `lexical.bm25` (per-store table) and through the old
single-table statement, interleaved query by query, unfiltered and with a filter letting
10% of the store's files through; figures are p50/p95 over the queries.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.migrate import upgrade_to_head
from app.db.session import create_engine, create_session_factory
from app.services.vector_stores import lexical, lexical_index
from benchmarks.bench_chunking import load_corpus
from benchmarks.bench_vector_search import machine_line

WORDS_PER_CHUNK = 150
FILES = 100  # per store; the filter lets 10 through
K = 100  # the depth the service ranks (search.CANDIDATES)
SEARCHED, OTHER = "vs_searched", "vs_other"
GLOBAL = "bench_global_fts"
# The statement every store was searched with before 0006b (one table over all stores).
SHARED = f"""
SELECT c.id, -bm25({GLOBAL}) AS score
FROM {GLOBAL} JOIN vector_store_chunks AS c ON c.id = {GLOBAL}.rowid
WHERE {GLOBAL} MATCH :match AND c.store_id = :store {{files}}
ORDER BY bm25({GLOBAL}) LIMIT :k
"""


def vocabulary() -> list[str]:
    """Distinct words of the corpus, most frequent first (Zipf ranks)."""
    counts: dict[str, int] = {}
    for _name, document in load_corpus():
        for word in re.findall(r"[a-z]{3,}", document.lower()):
            counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda w: -counts[w])


def draw(words: list[str], rng: np.random.Generator, count: int) -> list[str]:
    ranks = rng.zipf(1.1, count * 2)
    ranks = ranks[ranks <= len(words)][:count]
    return [words[r - 1] for r in ranks]


def fill(path: Path, words: list[str], sizes: dict[str, int], rng: np.random.Generator) -> None:
    with sqlite3.connect(path) as db:
        for store, size in sizes.items():
            db.execute(
                "INSERT INTO vector_stores VALUES (?, ?, NULL, NULL, 'm', NULL, 1, 1, 1, 0)",
                (store, store),
            )
            for f in range(FILES):
                file_id = f"{store}_file_{f}"
                db.execute(
                    "INSERT INTO files VALUES (?, 'f.txt', 'assistants', 1, 'h', 1, 1)", (file_id,)
                )
                db.execute(
                    "INSERT INTO vector_store_files(store_id, file_id, created_at, created_ns, "
                    "status, chunk_capacity, chunk_overlap, usage_bytes) "
                    "VALUES (?, ?, 1, 1, 'completed', 510, 0, 0)",
                    (store, file_id),
                )
            for start in range(0, size, 10_000):
                rows = []
                for i in range(start, min(size, start + 10_000)):
                    body = " ".join(draw(words, rng, WORDS_PER_CHUNK))
                    rows.append((store, f"{store}_file_{i % FILES}", i, body))
                db.executemany(
                    "INSERT INTO vector_store_chunks(store_id, file_id, chunk_index, start, "
                    '"end", tokens, text, headings, vector) '
                    "VALUES (?, ?, ?, 0, 1, 1, ?, '[]', x'00')",
                    rows,
                )
            db.execute(lexical_index.create_statement(store))
            table = lexical_index.table_name(store)
            db.execute(
                f'INSERT INTO "{table}"(rowid, text) '
                "SELECT id, text FROM vector_store_chunks WHERE store_id = ?",
                (store,),
            )
        db.execute(
            f"CREATE VIRTUAL TABLE {GLOBAL} USING fts5(text, content='vector_store_chunks', "
            "content_rowid='id', tokenize='porter unicode61')"
        )
        db.execute(f"INSERT INTO {GLOBAL}({GLOBAL}) VALUES ('rebuild')")


async def shared(session: AsyncSession, query: str, allowed: list[str] | None) -> int:
    files = "AND c.file_id IN :files" if allowed is not None else ""
    statement = text(SHARED.format(files=files))
    match = lexical.match_expression(lexical.terms(query), "sqlite")
    params: dict[str, object] = {"match": match, "store": SEARCHED, "k": K}
    if allowed is not None:
        statement = statement.bindparams(bindparam("files", expanding=True))
        params["files"] = allowed
    return len((await session.execute(statement, params)).all())


async def per_store(session: AsyncSession, query: str, allowed: list[str] | None) -> int:
    return len(await lexical.bm25(session, SEARCHED, query, K, allowed))


Case = Callable[[AsyncSession, str, list[str] | None], Awaitable[int]]


async def measure(url: str, queries: list[str]) -> None:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    allowed = [f"{SEARCHED}_file_{f}" for f in range(0, FILES, 10)]
    cases: dict[str, tuple[Case, list[str] | None]] = {
        "one table for all stores (before)": (shared, None),
        "the store's own table (service)": (per_store, None),
        "one table, 10% of files": (shared, allowed),
        "own table, 10% of files": (per_store, allowed),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    hits: dict[str, int] = dict.fromkeys(cases, 0)
    async with sessions() as session:
        for query in queries[:5]:  # warm the page cache and the statement cache
            for case, files in cases.values():
                await case(session, query, files)
        for query in queries:
            for name, (case, files) in cases.items():
                started = time.perf_counter()
                hits[name] += await case(session, query, files)
                samples[name].append((time.perf_counter() - started) * 1000)
    await engine.dispose()
    base = statistics.median(samples["one table for all stores (before)"])
    for name, values in samples.items():
        p50 = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[18]
        print(
            f"  {name:36s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  "
            f"({p50 / base:.2f}x)  hits/query {hits[name] / len(queries):.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks of the store searched")
    parser.add_argument("--other", type=int, default=100_000, help="chunks of the other store")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    print(machine_line())
    rng = np.random.default_rng(7)
    words = vocabulary()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ragprep.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade_to_head(url)
        started = time.perf_counter()
        fill(path, words, {SEARCHED: args.chunks, OTHER: args.other}, rng)
        print(
            f"  {args.chunks} chunks searched, {args.other} in another store, "
            f"{len(words)} words; built in {time.perf_counter() - started:.0f} s, "
            f"database {path.stat().st_size / 2**20:.0f} MiB"
        )
        # Queries of words in the middle of the frequency range, as questions have.
        queries = [" ".join(draw(words[20:], rng, 5)) for _ in range(args.queries)]
        asyncio.run(measure(url, queries))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
