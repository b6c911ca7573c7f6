"""The indexing queue: each job claimed once by concurrent claimers (replicas), and work a
stop interrupted resumes at the next start."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import anyio
import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.migrate import upgrade_to_head
from app.db.session import create_engine, create_session_factory
from app.db.tables import FileRow, VectorStoreFileRow, VectorStoreRow
from app.services import runtime
from app.services.vector_stores.indexer import Job
from app.services.vector_stores.queue import IndexQueue
from tests.api.test_operations import Samples, scrape, value
from tests.api.vector_store_helpers import create_store, wait_indexed
from tests.conftest import DATA, AppRunner
from tests.pg import count_rows

JOBS = 40
REUSED = ("chunk_sets", "embedding_cache")  # what indexing a file embedded before reuses


async def test_concurrent_claimers_take_each_job_once(database_url: str) -> None:
    await anyio.to_thread.run_sync(upgrade_to_head, database_url)
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    now = time.time_ns()
    async with sessions() as session:
        session.add(
            VectorStoreRow(
                id="vs_1",
                name="",
                model="m",
                created_at=0,
                created_ns=now,
                last_active_at=0,
                index_version=0,
            )
        )
        for n in range(JOBS):
            session.add(
                FileRow(
                    id=f"file_{n}",
                    filename="a.txt",
                    purpose="assistants",
                    bytes=1,
                    sha256="0" * 64,
                    created_at=0,
                    created_ns=now + n,
                )
            )
        await session.flush()  # no ORM relationships: parents first, by hand
        for n in range(JOBS):
            session.add(
                VectorStoreFileRow(
                    store_id="vs_1",
                    file_id=f"file_{n}",
                    created_at=0,
                    created_ns=now + n,
                    status="in_progress",
                    chunk_capacity=510,
                    chunk_overlap=0,
                    usage_bytes=0,
                    job="queued",
                )
            )
        await session.commit()
    # Four claimers, as four replicas' workers; the embedder is never reached by claim().
    queues = [
        IndexQueue(
            session_factory=sessions,
            catalog=None,  # type: ignore[arg-type]
            embedder=None,  # type: ignore[arg-type]
            workers=1,
            lease_seconds=300,
        )
        for _ in range(4)
    ]
    claimed: list[tuple[str, str]] = []

    async def drain(queue: IndexQueue) -> None:
        while (job := await queue.claim()) is not None:
            claimed.append((job.file_id, job.owner))

    async with anyio.create_task_group() as group:
        for queue in queues:
            group.start_soon(drain, queue)
    assert sorted(f for f, _ in claimed) == sorted(f"file_{n}" for n in range(JOBS))
    async with sessions() as session:
        owners = dict(
            (
                await session.execute(
                    select(VectorStoreFileRow.file_id, VectorStoreFileRow.job_owner)
                )
            ).all()
        )
    assert owners == dict(claimed)
    await engine.dispose()


async def test_a_stop_mid_indexing_resumes_at_the_next_start(
    settings: Settings, run_app: AppRunner
) -> None:
    # A short lease: on PostgreSQL a job left 'running' is taken over once it expires.
    settings = replace_settings(settings, index_lease_seconds=1.0)
    gpl = (DATA / "docs" / "gpl-3.txt").read_bytes()
    async with run_app(settings) as client:
        ids = []
        for n in range(3):
            upload = await client.post(
                "/v1/files", files={"file": (f"g{n}.txt", gpl + bytes([65 + n]))}
            )
            ids.append(upload.json()["id"])
        store = await create_store(client, file_ids=ids)
        assert store["file_counts"]["in_progress"] == 3
        # Stopped at once: indexing has at most begun.
    async with run_app(settings) as client:
        done = await wait_indexed(client, store["id"])
        assert done["file_counts"]["completed"] == 3
        content = await client.get(f"/v1/vector_stores/{store['id']}/files/{ids[0]}/content")
        assert content.json()["data"]


async def test_indexing_reuses_stored_chunks_and_cached_vectors(
    settings: Settings, run_app: AppRunner
) -> None:
    async with run_app(settings) as client:
        upload = await client.post(
            "/v1/files", files={"file": ("gpl.txt", (DATA / "docs" / "gpl-3.txt").read_bytes())}
        )
        file_id = upload.json()["id"]
        # The store's default chunking (auto: 510 tokens, 127 overlapped), embedded beforehand.
        embedded = await client.post(
            f"/v1/files/{file_id}/embeddings", json={"chunk_capacity": 510, "chunk_overlap": 127}
        )
        assert embedded.status_code == 200, embedded.text
        vectors = {item["text"]: item["embedding"] for item in embedded.json()["data"]}
        rows_before = {t: count_rows(settings.database_url, t) for t in REUSED}
        before = await scrape(client)
        store = await create_store(client, file_ids=[file_id])
        assert (await wait_indexed(client, store["id"]))["file_counts"]["completed"] == 1
        after = await scrape(client)
        # Nothing chunked or embedded again: every chunk's vector came from the cache.
        assert {t: count_rows(settings.database_url, t) for t in REUSED} == rows_before
        assert moved(before, after, "hit") == len(vectors) and moved(before, after, "miss") == 0
        content = await client.get(f"/v1/vector_stores/{store['id']}/files/{file_id}/content")
        assert [part["text"] for part in content.json()["data"]] == list(vectors)


@dataclass
class Overlap:
    """Jobs inside the real queue's job execution at once: now, and the most seen. The first
    job waits (at most `hold` seconds) for a second to start beside it, so that two workers
    overlap for sure, and a second one that should not run has time to show itself."""

    hold: float
    now: int = 0
    peak: int = 0
    held: bool = False
    together: anyio.Event = field(default_factory=anyio.Event)


def counting_queue(overlap: Overlap) -> type[IndexQueue]:
    """The real IndexQueue, its job execution counted by `overlap`."""

    class CountingQueue(IndexQueue):
        async def _run(self, job: Job) -> None:
            overlap.now += 1
            overlap.peak = max(overlap.peak, overlap.now)
            if overlap.now > 1:
                overlap.together.set()
            try:
                if not overlap.held:
                    overlap.held = True
                    with anyio.move_on_after(overlap.hold):
                        await overlap.together.wait()
                await super()._run(job)
            finally:
                overlap.now -= 1

    return CountingQueue


# With 1 worker the first job waits 3 s for a second that must never start; with 2 it waits
# only until the second starts (30 s at most, on a loaded machine).
@pytest.mark.parametrize(("workers", "hold"), [(1, 3.0), (2, 30.0)])
async def test_index_workers_bound_the_files_indexed_at_once(
    settings: Settings,
    run_app: AppRunner,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
    hold: float,
) -> None:
    overlap = Overlap(hold=hold)
    monkeypatch.setattr(runtime, "IndexQueue", counting_queue(overlap))
    settings = settings.model_copy(update={"index_workers": workers})
    gpl = (DATA / "docs" / "gpl-3.txt").read_bytes()
    async with run_app(settings) as client:
        ids = []
        for n in range(4):  # distinct bytes: each file chunked and embedded, none reused
            upload = await client.post(
                "/v1/files", files={"file": (f"g{n}.txt", gpl + bytes([65 + n]))}
            )
            ids.append(upload.json()["id"])
        store = await create_store(client)
        batch = await client.post(
            f"/v1/vector_stores/{store['id']}/file_batches", json={"file_ids": ids}
        )
        assert batch.status_code == 200, batch.text
        done = await wait_indexed(client, store["id"])
    assert done["file_counts"]["completed"] == 4
    assert overlap.peak == workers


def moved(before: Samples, after: Samples, result: str) -> float:
    """Embedding cache lookups of the default model with that result between two scrapes."""
    name, model = "ragprep_embedding_cache_lookups_total", "all-MiniLM-L6-v2"
    return value(after, name, model=model, result=result) - value(
        before, name, model=model, result=result
    )


def replace_settings(settings: Settings, **changes: float) -> Settings:
    return settings.model_copy(update=changes)
