"""Cross-request dynamic batching: one worker thread owns the model context.

Requests put their token sequences on a bounded queue and await a future. The worker takes
waiting items in arrival order (up to a round of work), sorts them by length, packs them into
batches under a token budget and decodes each batch once, whatever request its items came from.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from app.engine.base import Embedder
from app.errors import Overloaded, Unavailable
from app.observability.metrics import Metrics

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]


@dataclass(eq=False)
class _Job:
    """One request's sequences; filled in by the worker, resolved on the event loop."""

    sequences: Sequence[Sequence[int]]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Vectors]
    vectors: Vectors
    remaining: int

    def deliver(self, rows: list[int], values: Vectors) -> None:
        self.vectors[rows] = values
        self.remaining -= len(rows)
        if self.remaining == 0:
            self.loop.call_soon_threadsafe(_resolve, self.future, self.vectors)

    def fail(self, exc: BaseException) -> None:
        self.loop.call_soon_threadsafe(_reject, self.future, exc)


def _resolve(future: asyncio.Future[Vectors], vectors: Vectors) -> None:
    if not future.done():
        future.set_result(vectors)


def _reject(future: asyncio.Future[Vectors], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


@dataclass(frozen=True)
class _Item:
    job: _Job
    row: int
    cost: int


@dataclass
class BatchStats:
    batches: int = 0
    sequences: int = 0
    tokens: int = 0


@dataclass
class BatchEngine:
    """Owns `embedder` from one thread; `embed` may be awaited from any number of requests."""

    embedder: Embedder
    batch_tokens: int
    queue_size: int
    name: str = "embedder"
    max_sequences: int = 256
    stats: BatchStats = field(default_factory=BatchStats)
    metrics: Metrics | None = None

    def __post_init__(self) -> None:
        self._items: deque[_Item] = deque()
        self._queued_tokens = 0
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"embed-{self.name}", daemon=True)

    @property
    def pending(self) -> int:
        return len(self._items)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish every queued item, then end the worker. Stopping twice is harmless."""
        with self._wake:
            if self._stopping:
                return
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join()
        self.embedder.close()

    async def embed(self, sequences: Sequence[Sequence[int]]) -> Vectors:
        """Unnormalized pooled vectors, in input order. Sequences exclude special tokens."""
        loop = asyncio.get_running_loop()
        job = _Job(
            sequences=sequences,
            loop=loop,
            future=loop.create_future(),
            vectors=np.empty((len(sequences), self.embedder.dimensions), dtype=np.float32),
            remaining=len(sequences),
        )
        if not sequences:
            return job.vectors
        self._enqueue(job)
        return await job.future

    def _enqueue(self, job: _Job) -> None:
        extra = self.embedder.special_tokens
        with self._wake:
            if self._stopping:
                raise Unavailable("The embedding worker is shutting down")
            # A job larger than the whole queue is let into an empty one: refused always, it
            # could never run, and 429's "retry later" would be a lie.
            if self._items and len(self._items) + len(job.sequences) > self.queue_size:
                if self.metrics is not None:
                    self.metrics.rejected.labels(self.name).inc()
                raise Overloaded(
                    f"The embedding queue is full ({self.queue_size} inputs); retry shortly",
                    headers={"Retry-After": "1"},
                )
            for row, tokens in enumerate(job.sequences):
                self._items.append(_Item(job=job, row=row, cost=len(tokens) + extra))
                self._queued_tokens += len(tokens) + extra
            self._observe_queue()
            self._wake.notify()

    def _observe_queue(self) -> None:
        """Called with the lock held, whenever the queue grows or shrinks."""
        if self.metrics is not None:
            self.metrics.queue_inputs.labels(self.name).set(len(self._items))
            self.metrics.queue_tokens.labels(self.name).set(self._queued_tokens)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._items and not self._stopping:
                    self._wake.wait()
                if not self._items:
                    return
                round_ = self._take_round()
            for batch in self._pack(round_):
                self._decode(batch)

    def _take_round(self) -> list[_Item]:
        """Oldest items first, up to a few batches' worth, so late small requests wait little."""
        budget = self.batch_tokens * 8
        taken: list[_Item] = []
        while self._items and (not taken or budget - self._items[0].cost >= 0):
            item = self._items.popleft()
            budget -= item.cost
            self._queued_tokens -= item.cost
            if not item.job.future.cancelled():
                taken.append(item)
        self._observe_queue()
        return taken

    def _pack(self, items: list[_Item]) -> list[list[_Item]]:
        batches: list[list[_Item]] = []
        current: list[_Item] = []
        used = 0
        for item in sorted(items, key=lambda i: i.cost):
            full = len(current) >= self.max_sequences
            if current and (used + item.cost > self.batch_tokens or full):
                batches.append(current)
                current, used = [], 0
            current.append(item)
            used += item.cost
        if current:
            batches.append(current)
        return batches

    def _decode(self, batch: list[_Item]) -> None:
        live = [item for item in batch if not item.job.future.cancelled()]
        if not live:
            return
        try:
            vectors = self.embedder.embed_batch([item.job.sequences[item.row] for item in live])
        except Exception as exc:  # the worker must survive; each waiting request learns why
            log.exception("embedding batch failed")
            for job in {item.job for item in live}:
                job.fail(Unavailable(f"Embedding failed: {type(exc).__name__}"))
            return
        self.stats.batches += 1
        self.stats.sequences += len(live)
        tokens = sum(item.cost for item in live)
        self.stats.tokens += tokens
        if self.metrics is not None:
            self.metrics.batch_size.labels(self.name).observe(len(live))
            self.metrics.batch_tokens.labels(self.name).observe(tokens)
            self.metrics.tokens_embedded.labels(self.name).inc(tokens)
        by_job: dict[_Job, list[int]] = {}
        for position, item in enumerate(live):
            by_job.setdefault(item.job, []).append(position)
        for job, positions in by_job.items():
            job.deliver([live[p].row for p in positions], vectors[positions])
