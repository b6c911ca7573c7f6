"""BM25 search latency: the service's in-memory postings (app/services/vector_stores/bm25.py)
against the SQLite FTS5 table per store it replaced (migration 0007m), side by side.

    python -m benchmarks.bench_lexical [--chunks 100000] [--queries 200]

One store of --chunks chunks of 150 words drawn from the vocabulary of real text (the chunking
benchmark's corpus: Debian copyright files, the common licenses, the test documents) with
Zipf's law, as word frequencies run in prose; queries are 5 of those words, drawn alike from
the middle of the frequency range. Each query runs through the service's
`LexicalIndex.bm25` and through FTS5's bm25() over the store's own table, interleaved query by
query, unfiltered and with a filter letting 10% of the store's files through; figures are
p50/p95 over the queries. Also: the postings' first build (the first search after a start),
a refresh after one more file of 100 chunks is indexed, and the postings' memory.
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
from app.services.vector_stores.lexical import LexicalIndex
from benchmarks.bench_chunking import load_corpus
from benchmarks.bench_vector_search import machine_line

WORDS_PER_CHUNK = 150
FILES = 100  # in the store; the filter lets 10 through
K = 100  # the depth the service ranks (search.CANDIDATES)
STORE = "vs_searched"
FTS = "bench_fts"
# The statement each store was searched with from 0006b to 0007m (its own FTS5 table).
BEFORE = f"""
SELECT {FTS}.rowid, -bm25({FTS}) AS score
FROM {FTS} {{join}}
WHERE {FTS} MATCH :match {{files}}
ORDER BY bm25({FTS}) LIMIT :k
"""
JOIN = f"JOIN vector_store_chunks AS c ON c.id = {FTS}.rowid"


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


def fill(path: Path, words: list[str], chunks: int, rng: np.random.Generator) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO vector_stores VALUES (?, ?, NULL, NULL, 'm', NULL, 1, 1, 1, 0)",
            (STORE, STORE),
        )
        for f in range(FILES + 1):  # the last file is indexed during the run
            file_id = f"{STORE}_file_{f}"
            db.execute(
                "INSERT INTO files VALUES (?, 'f.txt', 'assistants', 1, 'h', 1, 1)", (file_id,)
            )
            db.execute(
                "INSERT INTO vector_store_files(store_id, file_id, created_at, created_ns, "
                "status, chunk_capacity, chunk_overlap, usage_bytes) "
                "VALUES (?, ?, 1, 1, 'completed', 510, 0, 0)",
                (STORE, file_id),
            )
        for start in range(0, chunks, 10_000):
            rows = [
                (f"{STORE}_file_{i % FILES}", i, " ".join(draw(words, rng, WORDS_PER_CHUNK)))
                for i in range(start, min(chunks, start + 10_000))
            ]
            insert_chunks(db, rows)
        db.execute(
            f"CREATE VIRTUAL TABLE {FTS} USING fts5(text, content='vector_store_chunks', "
            "content_rowid='id', tokenize='porter unicode61')"
        )
        db.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def insert_chunks(db: sqlite3.Connection, rows: list[tuple[str, int, str]]) -> None:
    db.executemany(
        "INSERT INTO vector_store_chunks(store_id, file_id, chunk_index, start, "
        '"end", tokens, text, headings, vector) '
        f"VALUES ('{STORE}', ?, ?, 0, 1, 1, ?, '[]', x'00')",
        rows,
    )


def match_expression(query: str) -> str:
    words = dict.fromkeys(re.findall(r"\w+", query.lower()))
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


async def fts5(
    session: AsyncSession, index: LexicalIndex, query: str, allowed: list[str] | None
) -> list[int]:
    files = "AND c.file_id IN :files" if allowed is not None else ""
    join = JOIN if allowed is not None else ""
    statement = text(BEFORE.format(join=join, files=files))
    params: dict[str, object] = {"match": match_expression(query), "k": K}
    if allowed is not None:
        statement = statement.bindparams(bindparam("files", expanding=True))
        params["files"] = allowed
    return [int(row[0]) for row in await session.execute(statement, params)]


async def postings(
    session: AsyncSession, index: LexicalIndex, query: str, allowed: list[str] | None
) -> list[int]:
    return [i for i, _ in await index.bm25(session, STORE, 1, query, K, allowed)]


Case = Callable[[AsyncSession, LexicalIndex, str, list[str] | None], Awaitable[list[int]]]
BASELINE = "FTS5, the store's own table (before)"


async def measure(url: str, queries: list[str], chunks: int, words: list[str]) -> None:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    index = LexicalIndex()
    async with sessions() as session:
        started = time.perf_counter()
        lexicon = await index.lexicon(session, STORE, 1)
        built = time.perf_counter() - started
        await compare(session, index, queries)
        await session.commit()
        refreshed = await refresh(url, session, index, words)
    await engine.dispose()
    memory = lexicon.postings.nbytes + lexicon.rows.ids.nbytes + lexicon.rows.files.nbytes
    print(
        f"  postings: first build {built:.2f} s ({chunks / built:,.0f} chunks/s), "
        f"refresh after one more file of 100 chunks {refreshed * 1000:.0f} ms, "
        f"memory {memory / 2**20:.0f} MiB ({len(lexicon.postings.rows):,} postings, "
        f"{len(lexicon.postings.vocabulary):,} terms)"
    )


async def compare(session: AsyncSession, index: LexicalIndex, queries: list[str]) -> None:
    allowed = [f"{STORE}_file_{f}" for f in range(0, FILES, 10)]
    cases: dict[str, tuple[Case, list[str] | None]] = {
        BASELINE: (fts5, None),
        "in-memory postings (service)": (postings, None),
        "FTS5, 10% of files": (fts5, allowed),
        "postings, 10% of files": (postings, allowed),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    found: dict[str, list[list[int]]] = {name: [] for name in cases}
    for query in queries[:5]:  # warm the page cache and the statement cache
        for case, files in cases.values():
            await case(session, index, query, files)
    for query in queries:
        for name, (case, files) in cases.items():
            started = time.perf_counter()
            found[name].append(await case(session, index, query, files))
            samples[name].append((time.perf_counter() - started) * 1000)
    base = statistics.median(samples[BASELINE])
    for name, values in samples.items():
        p50 = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[18]
        hits = sum(map(len, found[name])) / len(queries)
        print(
            f"  {name:38s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  "
            f"({p50 / base:.2f}x)  hits/query {hits:.0f}"
        )
    overlap = [
        len(set(a[:10]) & set(b[:10])) / max(1, min(10, len(a)))
        for a, b in zip(found[BASELINE], found["in-memory postings (service)"], strict=True)
    ]
    print(f"  top-10 shared by FTS5 and the postings (idf formulas differ): {np.mean(overlap):.2f}")


async def refresh(url: str, session: AsyncSession, index: LexicalIndex, words: list[str]) -> float:
    """One more file of 100 chunks indexed (version 2): the next search's refresh."""
    rng = np.random.default_rng(11)
    path = url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as db:
        rows = [
            (f"{STORE}_file_{FILES}", i, " ".join(draw(words, rng, WORDS_PER_CHUNK)))
            for i in range(100)
        ]
        insert_chunks(db, rows)
    started = time.perf_counter()
    await index.lexicon(session, STORE, 2)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks of the store searched")
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
        fill(path, words, args.chunks, rng)
        print(
            f"  {args.chunks} chunks, {len(words)} words; built in "
            f"{time.perf_counter() - started:.0f} s, database {path.stat().st_size / 2**20:.0f} MiB"
        )
        # Queries of words in the middle of the frequency range, as questions have.
        queries = [" ".join(draw(words[20:], rng, 5)) for _ in range(args.queries)]
        asyncio.run(measure(url, queries, args.chunks, words))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
