"""Cross-request dynamic batching: one queue, N worker threads, each owning one decode context.

Requests put their token sequences on the queue and await a future. Whenever a worker is free it
packs the next batch under a token budget by taking requests in turn, one sequence from each per
pass (round-robin; within a request, shortest sequences first), so a 1-input request waits at
most for the batches already decoding, never behind the rest of a 2048-input request. Sequences
from different requests share batches. A request that is cancelled (its client went away) has
its untaken sequences dropped at once. The queue is bounded in tokens, i.e. in seconds of work:
past the bound a request is refused at once with 429 and a Retry-After from measured throughput.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from app.engine.base import Embedder
from app.errors import Overloaded, Unavailable
from app.observability.metrics import Metrics

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
# Per-context throughput assumed before anything was measured (MiniLM decodes 3-6k tokens/s).
ASSUMED_TOKENS_PER_SECOND = 2000.0


@dataclass(eq=False)
class _Job:
    """One request's sequences, cheapest first; filled in by workers, resolved on the loop."""

    sequences: Sequence[Sequence[int]]
    costs: list[int]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Vectors]
    vectors: Vectors
    order: list[int] = field(init=False)
    taken: int = 0
    untaken_tokens: int = field(init=False)
    remaining: int = field(init=False)

    def __post_init__(self) -> None:
        self.order = sorted(range(len(self.costs)), key=self.costs.__getitem__)
        self.untaken_tokens = sum(self.costs)
        self.remaining = len(self.costs)

    @property
    def exhausted(self) -> bool:
        return self.taken >= len(self.order)

    @property
    def head_cost(self) -> int:
        return self.costs[self.order[self.taken]]

    def take(self) -> int:
        row = self.order[self.taken]
        self.taken += 1
        self.untaken_tokens -= self.costs[row]
        return row


def _resolve(future: asyncio.Future[Vectors], vectors: Vectors) -> None:
    if not future.done():
        future.set_result(vectors)


def _reject(future: asyncio.Future[Vectors], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


@dataclass
class BatchStats:
    batches: int = 0
    sequences: int = 0
    tokens: int = 0
    busy_seconds: float = 0.0
    worker_batches: dict[int, int] = field(default_factory=dict)


@dataclass
class BatchEngine:
    """Feeds `embedders` (one worker thread each) from one queue; `embed` may be awaited from
    any number of requests. `release` frees what the embedders share, after they are closed."""

    embedders: Sequence[Embedder]
    batch_tokens: int
    queue_size: int
    queue_tokens: int = 1 << 30
    name: str = "embedder"
    max_sequences: int = 256
    release: Callable[[], None] | None = None
    stats: BatchStats = field(default_factory=BatchStats)
    metrics: Metrics | None = None

    def __post_init__(self) -> None:
        if not self.embedders:
            raise ValueError("BatchEngine needs at least one embedder")
        self._jobs: deque[_Job] = deque()
        self._queued_items = 0
        self._queued_tokens = 0
        self._decoding = 0
        self._wake = threading.Condition()
        self._stopping = False
        self._threads = [
            threading.Thread(
                target=self._run, args=(i, embedder), name=f"embed-{self.name}-{i}", daemon=True
            )
            for i, embedder in enumerate(self.embedders)
        ]

    @property
    def workers(self) -> int:
        return len(self.embedders)

    @property
    def dimensions(self) -> int:
        return self.embedders[0].dimensions

    @property
    def pending(self) -> int:
        """Sequences queued and not yet taken by a worker."""
        return self._queued_items

    @property
    def pending_tokens(self) -> int:
        return self._queued_tokens

    @property
    def decoding(self) -> int:
        """Batches being decoded right now (taken off the queue, not yet delivered)."""
        return self._decoding

    @property
    def tokens_per_second(self) -> float:
        """Measured aggregate decode throughput of all workers (an assumption until measured)."""
        stats = self.stats
        per_worker = (
            stats.tokens / stats.busy_seconds
            if stats.busy_seconds > 0.5
            else ASSUMED_TOKENS_PER_SECOND
        )
        return per_worker * self.workers

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Finish every queued item, then end the workers. Stopping twice is harmless."""
        with self._wake:
            if self._stopping:
                return
            self._stopping = True
            self._wake.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()
        for embedder in self.embedders:
            embedder.close()
        if self.release is not None:
            self.release()

    async def embed(self, sequences: Sequence[Sequence[int]]) -> Vectors:
        """Unnormalized pooled vectors, in input order. Sequences exclude special tokens."""
        loop = asyncio.get_running_loop()
        extra = self.embedders[0].special_tokens
        job = _Job(
            sequences=sequences,
            costs=[len(tokens) + extra for tokens in sequences],
            loop=loop,
            future=loop.create_future(),
            vectors=np.empty((len(sequences), self.dimensions), dtype=np.float32),
        )
        if not sequences:
            return job.vectors
        self._enqueue(job)
        try:
            return await job.future
        except asyncio.CancelledError:
            self._drop(job)  # the caller is gone: its untaken sequences cost nothing more
            raise

    def _enqueue(self, job: _Job) -> None:
        with self._wake:
            if self._stopping:
                raise Unavailable("The embedding worker is shutting down")
            # A job larger than the whole bound is let into an empty queue: refused always, it
            # could never run, and 429's "retry later" would be a lie.
            items, tokens = len(job.costs), job.untaken_tokens
            if self._queued_items and self._queued_items + items > self.queue_size:
                raise self._overloaded(f"{self.queue_size} inputs", self._queued_tokens)
            if self._queued_tokens and self._queued_tokens + tokens > self.queue_tokens:
                drain = self._queued_tokens + tokens - self.queue_tokens
                raise self._overloaded(f"{self.queue_tokens} tokens", drain)
            self._jobs.append(job)
            self._queued_items += items
            self._queued_tokens += tokens
            self._observe_queue()
            self._wake.notify_all()

    def _observe_queue(self) -> None:
        """Called with the lock held, whenever the queue grows or shrinks."""
        if self.metrics is not None:
            self.metrics.queue_inputs.labels(self.name).set(self._queued_items)
            self.metrics.queue_tokens.labels(self.name).set(self._queued_tokens)

    def _overloaded(self, bound: str, drain_tokens: int) -> Overloaded:
        """429 with the seconds until enough of the backlog has drained to admit the request."""
        drain = min(drain_tokens, self._queued_tokens)
        wait = max(1, math.ceil(drain / self.tokens_per_second))
        if self.metrics is not None:
            self.metrics.rejected.labels(self.name).inc()
        return Overloaded(
            f"The embedding queue is full ({bound} waiting); retry in {wait} s",
            retry_after=wait,
        )

    def _drop(self, job: _Job) -> None:
        with self._wake:
            if job in self._jobs:
                self._jobs.remove(job)
                self._queued_items -= len(job.order) - job.taken
                self._queued_tokens -= job.untaken_tokens
                job.taken = len(job.order)
                job.untaken_tokens = 0
                self._observe_queue()

    def _run(self, worker: int, embedder: Embedder) -> None:
        while True:
            with self._wake:
                while not self._jobs and not self._stopping:
                    self._wake.wait()
                if not self._jobs:
                    return
                batch = self._take_batch()
            self._decode(worker, embedder, batch)

    def _take_batch(self) -> list[tuple[_Job, int]]:
        """Round-robin over waiting requests, one sequence each per pass, under the budget."""
        batch: list[tuple[_Job, int]] = []
        used = 0
        served_first: set[_Job] = set()
        first_pass = True
        while self._jobs and len(batch) < self.max_sequences:
            progressed = False
            for job in list(self._jobs):
                if len(batch) >= self.max_sequences:
                    break
                if job.exhausted or (batch and used + job.head_cost > self.batch_tokens):
                    continue
                used += job.head_cost
                batch.append((job, job.take()))
                progressed = True
                if first_pass:
                    served_first.add(job)
            first_pass = False
            self._prune()
            if not progressed:
                break
        # The requests served first move to the back: the next batch starts with the others.
        for _ in range(len(self._jobs)):
            if self._jobs[0] not in served_first:
                break
            self._jobs.rotate(-1)
        self._queued_items -= len(batch)
        self._queued_tokens -= used
        self._observe_queue()
        self._decoding += 1
        return batch

    def _prune(self) -> None:
        if any(job.exhausted for job in self._jobs):
            self._jobs = deque(job for job in self._jobs if not job.exhausted)

    def _decode(self, worker: int, embedder: Embedder, batch: list[tuple[_Job, int]]) -> None:
        started = time.perf_counter()
        try:
            vectors = embedder.embed_batch([job.sequences[row] for job, row in batch])
        except Exception as exc:  # the worker must survive; each waiting request learns why
            log.exception("embedding batch failed")
            with self._wake:
                self._decoding -= 1
            for job in {job for job, _ in batch}:
                self._drop(job)
                job.loop.call_soon_threadsafe(
                    _reject, job.future, Unavailable(f"Embedding failed: {type(exc).__name__}")
                )
            return
        elapsed = time.perf_counter() - started
        with self._wake:
            self._decoding -= 1
            self.stats.batches += 1
            self.stats.sequences += len(batch)
            tokens = sum(job.costs[row] for job, row in batch)
            self.stats.tokens += tokens
            if self.metrics is not None:
                self.metrics.batch_size.labels(self.name).observe(len(batch))
                self.metrics.batch_tokens.labels(self.name).observe(tokens)
                self.metrics.tokens_embedded.labels(self.name).inc(tokens)
            self.stats.busy_seconds += elapsed
            self.stats.worker_batches[worker] = self.stats.worker_batches.get(worker, 0) + 1
            for position, (job, row) in enumerate(batch):
                job.vectors[row] = vectors[position]
                job.remaining -= 1
                if job.remaining == 0:
                    job.loop.call_soon_threadsafe(_resolve, job.future, job.vectors)
