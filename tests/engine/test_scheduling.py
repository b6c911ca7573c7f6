"""BatchEngine scheduling with the real model: several workers, fairness, abandonment, bounds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.api.errors import status_of
from app.engine.batcher import BatchEngine
from app.engine.llama import LlamaEmbedder, LlamaTokenizer, LlamaWeights
from app.errors import Overloaded
from tests.conftest import cosine

BUDGET = 512
HUGE = 2048


def build(gguf: Path, tokenizer: LlamaTokenizer, *, workers: int, **options: Any) -> BatchEngine:
    """Weights loaded once; `workers` single-threaded contexts over them, one queue."""
    weights = LlamaWeights(gguf)
    embedders = [
        LlamaEmbedder(weights, tokenizer=tokenizer, threads=1, batch_tokens=BUDGET)
        for _ in range(workers)
    ]
    return BatchEngine(
        embedders=embedders,
        batch_tokens=BUDGET,
        queue_size=options.pop("queue_size", 1 << 20),
        max_sequences=embedders[0].max_sequences,
        release=weights.close,
        **options,
    )


@pytest.fixture(scope="module")
def two_workers(default_gguf: Path, model_tokenizer: LlamaTokenizer) -> Iterator[BatchEngine]:
    engine = build(default_gguf, model_tokenizer, workers=2)
    engine.start()
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def sequences(reference: list[dict[str, Any]], model_tokenizer: LlamaTokenizer) -> list[list[int]]:
    return [model_tokenizer.tokenize(item["text"]) for item in reference]


async def until(condition: Callable[[], bool]) -> None:
    """Poll a worker-thread condition (threads cannot set an asyncio.Event directly)."""
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in 30 s")


def huge_request(sequences: list[list[int]]) -> list[list[int]]:
    """2048 inputs of 16 tokens: ~28 per batch, so the request spans ~70 batches."""
    return [(sequences[i % len(sequences)] * 16)[:16] for i in range(HUGE)]


async def test_several_workers_match_one_worker_and_sentence_transformers(
    two_workers: BatchEngine,
    default_gguf: Path,
    model_tokenizer: LlamaTokenizer,
    sequences: list[list[int]],
    reference: list[dict[str, Any]],
    default_fidelity: float,
) -> None:
    one = build(default_gguf, model_tokenizer, workers=1)
    one.start()
    try:
        alone = await one.embed(sequences)
    finally:
        await asyncio.to_thread(one.stop)
    # The same request packs into the same batches; two workers decode them between them.
    before = dict(two_workers.stats.worker_batches)
    shared = await two_workers.embed(sequences)
    after = two_workers.stats.worker_batches
    assert all(after.get(w, 0) > before.get(w, 0) for w in range(2)), after
    assert np.abs(shared - alone).max() <= 1e-6 * np.abs(alone).max()
    for vector, item in zip(shared, reference, strict=True):
        assert cosine(vector, item["embedding"]) >= default_fidelity


async def test_small_request_is_served_while_a_huge_one_runs(
    two_workers: BatchEngine, sequences: list[list[int]]
) -> None:
    before = two_workers.stats.sequences
    huge = asyncio.create_task(two_workers.embed(huge_request(sequences)))
    await until(lambda: two_workers.stats.sequences > before)
    start_sequences = two_workers.stats.sequences
    started = time.perf_counter()
    small = await two_workers.embed([sequences[7]])
    waited = time.perf_counter() - started
    done_when_small_answered = two_workers.stats.sequences - start_sequences
    assert not huge.done()
    # Served within the next batch or two of each worker, not behind the other 2000 inputs.
    assert done_when_small_answered < HUGE // 8, done_when_small_answered
    assert waited < 5.0
    assert small.shape == (1, 384)
    assert (await huge).shape == (HUGE, 384)


async def test_cancelled_huge_request_stops_costing_work(
    two_workers: BatchEngine, sequences: list[list[int]]
) -> None:
    before = two_workers.stats.sequences
    huge = asyncio.create_task(two_workers.embed(huge_request(sequences)))
    await until(lambda: two_workers.stats.sequences > before)
    huge.cancel()
    with pytest.raises(asyncio.CancelledError):
        await huge
    assert two_workers.pending == 0 and two_workers.pending_tokens == 0
    await asyncio.sleep(0.5)  # batches already taken finish; nothing more of the request runs
    embedded = two_workers.stats.sequences - before
    assert embedded < HUGE // 4, embedded
    # And the workers still serve others.
    assert (await two_workers.embed(sequences[:3])).shape == (3, 384)


async def test_queue_is_bounded_in_tokens(
    default_gguf: Path, model_tokenizer: LlamaTokenizer, sequences: list[list[int]]
) -> None:
    engine = build(default_gguf, model_tokenizer, workers=1, queue_tokens=600)
    long = [[1996] * 300, [1996] * 250]  # 554 tokens with [CLS] and [SEP]: admitted
    first = asyncio.create_task(engine.embed(long))
    await asyncio.sleep(0)
    assert engine.pending_tokens == 554
    with pytest.raises(Overloaded) as caught:
        await engine.embed([[1996] * 60])  # few inputs, but over the token bound
    assert status_of(caught.value)[0] == 429
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 1
    assert engine.pending_tokens == 554  # the refused request left nothing behind
    engine.start()
    try:
        assert (await first).shape == (2, 384)
        assert (await engine.embed([[1996] * 60])).shape == (1, 384)  # room again
    finally:
        await asyncio.to_thread(engine.stop)
