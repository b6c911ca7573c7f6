"""BatchEngine with the real default model: ordering, cross-request batching, limits, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from app.api.errors import status_of
from app.engine.batcher import BatchEngine
from app.engine.llama import LlamaEmbedder, LlamaTokenizer
from app.errors import Overloaded, Unavailable
from tests.conftest import cosine

# A small budget makes rounds (8 batches' worth of tokens) short and easy to fill on purpose.
BUDGET = 512
ROUND = BUDGET * 8
# One thread: the test machine's two cores are shared, and ggml's spinning thread pool stalls
# badly when another process holds one of them.
THREADS = 1
# Inputs of 510 tokens cost a full 512-token batch each with [CLS] and [SEP]; 8 fill a round.
BLOCKER = [[1996] * (BUDGET - 2)] * (ROUND // BUDGET)

Vectors = npt.NDArray[np.float32]
EngineFactory = Callable[..., BatchEngine]


def make_engine(
    gguf: Path, tokenizer: LlamaTokenizer, *, queue_size: int = 4096, start: bool = True
) -> BatchEngine:
    embedder = LlamaEmbedder(gguf, tokenizer=tokenizer, threads=THREADS, batch_tokens=BUDGET)
    engine = BatchEngine(
        embedders=[embedder],
        batch_tokens=embedder.batch_tokens,
        queue_size=queue_size,
        max_sequences=embedder.max_sequences,
    )
    if start:
        engine.start()
    return engine


@pytest.fixture(scope="module")
def engine(default_gguf: Path, model_tokenizer: LlamaTokenizer) -> Iterator[BatchEngine]:
    shared = make_engine(default_gguf, model_tokenizer)
    yield shared
    shared.stop()


@pytest.fixture
def fresh_engine(default_gguf: Path, model_tokenizer: LlamaTokenizer) -> EngineFactory:
    """Engines a test may stop (stopping closes the embedder), loaded only when asked for."""

    def factory(**options: Any) -> BatchEngine:
        return make_engine(default_gguf, model_tokenizer, **options)

    return factory


@pytest.fixture(scope="module")
def sequences(reference: list[dict[str, Any]], model_tokenizer: LlamaTokenizer) -> list[list[int]]:
    return [model_tokenizer.tokenize(item["text"]) for item in reference]


async def solo(engine: BatchEngine, sequences: list[list[int]]) -> Vectors:
    """Each sequence alone in its own request, hence its own batch of one."""
    return np.vstack([await engine.embed([tokens]) for tokens in sequences])


def assert_same_rows(got: Vectors, expected: Vectors) -> None:
    assert got.shape == expected.shape
    for a, b in zip(got, expected, strict=True):
        assert cosine(a, b) > 0.99999


async def test_concurrent_requests_get_their_own_rows_in_order(
    engine: BatchEngine, sequences: list[list[int]]
) -> None:
    texts = sequences[:60]
    expected = await solo(engine, texts)
    # Requests of 1..6 inputs, interleaved so neighbouring rows belong to different requests.
    requests = [list(range(start, len(texts), 11)) for start in range(11)]
    before = engine.stats.batches
    results = await asyncio.gather(*(engine.embed([texts[i] for i in rows]) for rows in requests))
    for rows, got in zip(requests, results, strict=True):
        assert_same_rows(got, expected[rows])
    assert engine.stats.batches - before < len(requests)


async def test_small_concurrent_requests_share_batches(
    engine: BatchEngine, sequences: list[list[int]]
) -> None:
    short = sorted(sequences, key=len)[:40]
    requests = [short[i : i + 2] for i in range(0, 40, 2)]
    before = engine.stats.batches, engine.stats.sequences
    results = await asyncio.gather(*(engine.embed(request) for request in requests))
    assert [len(r) for r in results] == [2] * 20
    batches = engine.stats.batches - before[0]
    assert engine.stats.sequences - before[1] == 40
    assert batches < len(requests) // 2, f"{batches} batches for {len(requests)} requests"


async def test_empty_input_is_an_empty_matrix(engine: BatchEngine) -> None:
    before = engine.stats.batches
    vectors = await engine.embed([])
    assert vectors.shape == (0, 384) and vectors.dtype == np.float32
    assert engine.stats.batches == before


async def test_cancelled_request_is_skipped(
    engine: BatchEngine, sequences: list[list[int]]
) -> None:
    wanted = sequences[:3]
    expected = await solo(engine, wanted)
    before = engine.stats.sequences
    # The blocker fills the worker's first round, so both later requests wait in the queue.
    blocker = asyncio.create_task(engine.embed(BLOCKER))
    await asyncio.sleep(0)
    cancelled = asyncio.create_task(engine.embed(sequences[3:40]))
    kept = asyncio.create_task(engine.embed(wanted))
    await asyncio.sleep(0)
    assert engine.pending > 0
    cancelled.cancel()
    assert_same_rows(await kept, expected)
    assert (await blocker).shape == (len(BLOCKER), 384)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert engine.stats.sequences - before == len(BLOCKER) + len(wanted)
    # The worker is still healthy afterwards.
    assert_same_rows(await engine.embed(wanted), expected)


async def test_full_queue_raises_overloaded(
    fresh_engine: EngineFactory, sequences: list[list[int]]
) -> None:
    engine = fresh_engine(queue_size=4, start=False)  # nothing is taken off the queue yet
    first = asyncio.create_task(engine.embed(sequences[:3]))
    await asyncio.sleep(0)
    assert engine.pending == 3
    with pytest.raises(Overloaded) as caught:
        await engine.embed(sequences[3:5])
    assert status_of(caught.value)[0] == 429
    assert caught.value.retry_after == 1
    assert engine.pending == 3  # the refused request left nothing behind
    engine.start()
    try:
        assert (await first).shape == (3, 384)
    finally:
        await asyncio.to_thread(engine.stop)


async def test_a_job_larger_than_the_queue_runs_alone(
    fresh_engine: EngineFactory, sequences: list[list[int]]
) -> None:
    engine = fresh_engine(queue_size=4, start=False)
    big = asyncio.create_task(engine.embed(sequences[:6]))
    await asyncio.sleep(0)
    assert engine.pending == 6  # admitted: the queue was empty
    with pytest.raises(Overloaded):
        await engine.embed(sequences[6:7])  # but nothing joins it beyond the bound
    engine.start()
    try:
        assert (await big).shape == (6, 384)
    finally:
        await asyncio.to_thread(engine.stop)


async def test_stop_drains_queue_then_refuses(
    fresh_engine: EngineFactory, sequences: list[list[int]]
) -> None:
    engine = fresh_engine()
    blocker = asyncio.create_task(engine.embed(BLOCKER))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(engine.embed(sequences[i : i + 5])) for i in range(0, 30, 5)]
    await asyncio.sleep(0)
    assert engine.pending >= 30  # queued behind the blocker's round when stop() is called
    await asyncio.to_thread(engine.stop)
    assert engine.pending == 0
    # Every future was resolved before stop() returned; a lost one would hang, hence the timeout.
    done = await asyncio.wait_for(asyncio.gather(blocker, *waiting), timeout=5)
    assert [len(vectors) for vectors in done] == [len(BLOCKER)] + [5] * len(waiting)
    with pytest.raises(Unavailable) as caught:
        await engine.embed(sequences[:1])
    assert status_of(caught.value)[0] == 503
