"""The durable indexing queue: jobs are rows of vector_store_files (`job` = queued/running),
claimed by an atomic UPDATE, so replicas sharing a PostgreSQL database never index a file
twice, and a restart resumes whatever was queued or running."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from uuid import uuid4

import anyio
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.tables import VectorStoreFileRow, VectorStoreRow
from app.engine.catalog import ModelCatalog
from app.errors import DomainError, Overloaded
from app.services.vector_stores.indexer import (
    Embedder,
    Job,
    requeue,
    store_failure,
    store_index,
)

log = logging.getLogger(__name__)

QUEUED, RUNNING = "queued", "running"
CANDIDATES = 16  # queued rows read per claim attempt


@dataclass
class IndexQueue:
    session_factory: async_sessionmaker[AsyncSession]
    catalog: ModelCatalog
    embedder: Embedder
    workers: int
    # A running job whose claim is older than this (its replica died) is taken over; owners
    # renew their claim every lease / 3 seconds while they work.
    lease_seconds: float
    poll_seconds: float = 0.5
    owner: str = field(default_factory=lambda: uuid4().hex)
    _wake: anyio.Event = field(default_factory=anyio.Event)
    _stopping: bool = False

    def notify(self) -> None:
        """New jobs: idle workers look at once instead of at their next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Ask the workers to end at their next safe point: between jobs, never in the middle
        of a query. Cancelling one mid-query made SQLAlchemy terminate its aiosqlite connection
        in a task that waited forever for the connection's ended thread (a hung test run)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Run the workers until cancelled (the lifespan's task group ends them)."""
        async with anyio.create_task_group() as group:
            for _ in range(self.workers):
                group.start_soon(self._work)

    async def release_own_claims(self) -> None:
        """SQLite has one process: jobs 'running' at start-up were cut off by a stop or crash."""
        async with self.session_factory() as session:
            await session.execute(
                update(VectorStoreFileRow)
                .where(VectorStoreFileRow.job == RUNNING)
                .values(job=QUEUED, job_owner=None, job_claimed_ns=None)
            )
            await session.commit()

    async def _work(self) -> None:
        while not self._stopping:
            try:
                worked = await self._step()
            except Exception:  # the database was unreachable, say: try again after a pause
                log.exception("indexing worker step failed")
                worked = False
            if worked or self._stopping:
                continue
            if self._wake.is_set():  # jobs were added since this claim began: look again
                self._wake = anyio.Event()
                continue
            with anyio.move_on_after(self.poll_seconds):
                await self._wake.wait()

    async def _step(self) -> bool:
        """Claim and run one job; False when there was none."""
        job = await self.claim()
        if job is None:
            return False
        try:
            await self._run(job)
        except Exception:  # one bad job must not stop the worker: it is marked failed
            log.exception("indexing %s in %s failed", job.file_id, job.store_id)
            async with self.session_factory() as session:
                await store_failure(session, job, "server_error", "Indexing failed")
        return True

    async def claim(self) -> Job | None:
        now = time.time_ns()
        stale = now - int(self.lease_seconds * 1e9)
        claimable = or_(
            VectorStoreFileRow.job == QUEUED,
            (VectorStoreFileRow.job == RUNNING) & (VectorStoreFileRow.job_claimed_ns < stale),
        )
        async with self.session_factory() as session:
            query = (
                select(VectorStoreFileRow.store_id, VectorStoreFileRow.file_id)
                .where(claimable)
                .order_by(VectorStoreFileRow.created_ns)
                .limit(CANDIDATES)
            )
            candidates = list((await session.execute(query)).all())
            await session.commit()
            for store_id, file_id in candidates:
                claimed = await session.execute(
                    update(VectorStoreFileRow)
                    .where(
                        VectorStoreFileRow.store_id == store_id,
                        VectorStoreFileRow.file_id == file_id,
                        claimable,
                    )
                    .values(job=RUNNING, job_owner=self.owner, job_claimed_ns=now)
                )
                await session.commit()
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    return Job(store_id=store_id, file_id=file_id, owner=self.owner)
        return None

    async def _run(self, job: Job) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(self._renew, job)
            try:
                await self._index(job)
            finally:
                group.cancel_scope.cancel()

    async def _renew(self, job: Job) -> None:
        while True:
            await anyio.sleep(self.lease_seconds / 3)
            async with self.session_factory() as session:
                await session.execute(
                    update(VectorStoreFileRow)
                    .where(
                        VectorStoreFileRow.store_id == job.store_id,
                        VectorStoreFileRow.file_id == job.file_id,
                        VectorStoreFileRow.job_owner == job.owner,
                    )
                    .values(job_claimed_ns=time.time_ns())
                )
                await session.commit()

    async def _index(self, job: Job) -> None:
        async with self.session_factory() as session:
            row = await session.get(VectorStoreFileRow, (job.store_id, job.file_id))
            store = await session.get(VectorStoreRow, job.store_id)
            if row is None or store is None:
                return  # removed meanwhile: nothing to do
            try:
                model = self.catalog.get(store.model)
                chunks = await self.embedder.chunks(session, job, model, row)
                vectors = await self.embedder.vectors(session, model, chunks)
            except Overloaded:
                await anyio.sleep(self.poll_seconds)
                await requeue(session, job)
                return
            except DomainError as exc:  # the file's own 4xx: recorded as its last_error
                await session.rollback()
                await store_failure(session, job, exc.code or "invalid_file", exc.message)
                return
            await store_index(session, job, chunks, vectors)
