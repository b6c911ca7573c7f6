"""What one database query costs the event loop: ragprep's SQLite driver (one trip to
aiosqlite's thread per statement, none for a COMMIT or ROLLBACK outside a transaction;
app/db/sqlite_driver.py) against SQLAlchemy's own aiosqlite driver (four per statement, two per
session), on one database file, in one process.

    python -m benchmarks.bench_db_trips [--queries 2000] [--rounds 5] [--files 1000]

The database is migrated to head and holds --files file rows. Each case runs --queries times per
round, cases interleaved (order alternating), medians; CPU is the event loop thread's own
(`time.thread_time`), the cost a busy server or ingest run pays per query on its busiest thread.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from app.db.migrate import upgrade_to_head
from app.db.session import create_engine, create_session_factory
from app.db.tables import FileRow
from benchmarks.bench_ingest import machine_line

Query = Callable[[], Awaitable[object]]


def cases(engine: AsyncEngine) -> dict[str, Query]:
    """The shapes the services use most: a row by key and a filtered list, each in a session
    (checkout, statement, end of transaction), and a bare statement on a connection."""
    sessions: async_sessionmaker = create_session_factory(engine)  # type: ignore[type-arg]

    async def by_key() -> object:
        async with sessions() as session:
            return await session.get(FileRow, "file-500")

    async def listed() -> object:
        async with sessions() as session:
            query = select(FileRow).where(FileRow.sha256 == "f" * 64).limit(101)
            return (await session.scalars(query)).all()

    async def bare() -> object:
        async with engine.connect() as connection:
            return (await connection.execute(select(FileRow.id).limit(1))).all()

    return {"session.get by key": by_key, "files by sha256": listed, "bare statement": bare}


async def fill(engine: AsyncEngine, files: int) -> None:
    rows = [
        {
            "id": f"file-{i}",
            "filename": f"{i}.txt",
            "purpose": "assistants",
            "bytes": 10,
            "sha256": f"{i:064x}",
            "created_at": 0,
            "created_ns": i,
        }
        for i in range(files)
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(FileRow), rows)


async def measure(url: str, args: argparse.Namespace) -> dict[tuple[str, str], list[float]]:
    engines = {"ragprep's": create_engine(url), "SQLAlchemy's": create_async_engine(url)}
    await fill(engines["SQLAlchemy's"], args.files)
    timings: dict[tuple[str, str], list[float]] = {}
    try:
        paths = [(e, n, q) for e, engine in engines.items() for n, q in cases(engine).items()]
        for _, _, query in paths:  # warm: connections open, statements compiled
            for _ in range(50):
                await query()
        for round_ in range(args.rounds):
            for engine_name, name, query in paths if round_ % 2 == 0 else paths[::-1]:
                cpu, wall = time.thread_time(), time.perf_counter()
                for _ in range(args.queries):
                    await query()
                cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
                timings.setdefault((f"{engine_name} cpu", name), []).append(cpu)
                timings.setdefault((f"{engine_name} wall", name), []).append(wall)
    finally:
        for engine in engines.values():
            await engine.dispose()
    return timings


def report(timings: dict[tuple[str, str], list[float]], queries: int) -> None:
    def ms(engine: str, kind: str, name: str) -> float:
        return statistics.median(timings[(f"{engine} {kind}", name)]) / queries * 1000

    names = sorted({name for _, name in timings})
    print("| query | driver | event-loop CPU | wall | CPU vs SQLAlchemy's |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name in names:
        base = ms("SQLAlchemy's", "cpu", name)
        for engine in ("ragprep's", "SQLAlchemy's"):
            cpu, wall = ms(engine, "cpu", name), ms(engine, "wall", name)
            print(f"| {name} | {engine} | {cpu:.3f} ms | {wall:.3f} ms | {cpu / base:.2f}x |")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args(argv)
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="ragprep-bench-db-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'ragprep.db'}"
        upgrade_to_head(url)
        timings = asyncio.run(measure(url, args))
    print(f"median of {args.rounds} rounds of {args.queries} queries per case, interleaved")
    report(timings, args.queries)
    print(machine_line())


if __name__ == "__main__":
    main()
