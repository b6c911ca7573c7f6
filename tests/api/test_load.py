"""Under load over real HTTP: abandoned requests stop costing work, small requests are not stuck
behind huge ones, and a queue full in tokens answers 429 at once."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app.config import Settings
from app.engine.batcher import BatchEngine
from app.main import create_app

HUGE = 2048


def huge_inputs(tag: str) -> list[str]:
    """2048 distinct inputs of ~20 tokens: tens of seconds of work on this machine."""
    return [
        f"{tag} request, sentence number {i} about queues, workers and fairness"
        for i in range(HUGE)
    ]


@dataclass
class Live:
    url: str
    app: FastAPI

    @property
    def engine(self) -> BatchEngine:
        return self.app.state.services.catalog.get(None).engine  # type: ignore[no-any-return]


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    """The app under uvicorn on a free port: real sockets, so a client can really go away."""
    app = create_app(settings.model_copy(update={"embedding_cache": False}))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    with socket.create_server(("127.0.0.1", 0)) as sock:
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while thread.is_alive() and not server.started:
            time.sleep(0.05)
        yield Live(f"http://127.0.0.1:{sock.getsockname()[1]}", app)
        server.should_exit = True
        thread.join(timeout=60)


async def wait_until(condition: Callable[[], bool], seconds: float = 30) -> None:
    """Poll state the worker threads change (they cannot set an asyncio.Event)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_abandoned_request_stops_being_embedded(live: Live) -> None:
    engine = live.engine
    before = engine.stats.sequences
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
        request = asyncio.create_task(
            client.post("/v1/embeddings", json={"input": huge_inputs("abandoned")})
        )
        # Give up once the work has begun, however fast the engine is on this machine: a fixed
        # client timeout let a faster engine finish half the request before the disconnect.
        await wait_until(lambda: engine.stats.sequences > before)
        request.cancel()  # the client gives up and closes its connection
        with pytest.raises(asyncio.CancelledError):
            await request
    await wait_until(lambda: engine.pending == 0, seconds=5)  # dropped at once
    await wait_until(lambda: engine.decoding == 0)  # batches taken before the disconnect end
    settled = engine.stats.sequences
    await asyncio.sleep(1.0)
    # Batches in flight at the disconnect finish; nothing more of the request is decoded.
    assert engine.stats.sequences == settled
    assert settled - before < HUGE // 2, settled - before
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
        ok = await client.post("/v1/embeddings", json={"input": ["still serving"]})
    assert ok.status_code == 200


@asynccontextmanager
async def in_process(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, BatchEngine]]:
    """The app over httpx's ASGI transport, with the default model's batch engine to observe."""
    app = create_app(settings.model_copy(update={"embedding_cache": False}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ragprep.test") as client:
            yield client, app.state.services.catalog.get(None).engine


async def test_one_input_is_answered_while_2048_are_embedded(settings: Settings) -> None:
    async with in_process(settings) as (client, engine):
        before = engine.stats.sequences
        huge = asyncio.create_task(
            client.post("/v1/embeddings", json={"input": huge_inputs("huge")})
        )
        await wait_until(lambda: engine.stats.sequences > before)
        started = time.perf_counter()
        small = await client.post("/v1/embeddings", json={"input": ["a tiny probe"]})
        waited = time.perf_counter() - started
        embedded_meanwhile = engine.stats.sequences - before
        assert small.status_code == 200
        assert not huge.done()  # answered first, while the huge request was in flight
        assert embedded_meanwhile < HUGE // 4, embedded_meanwhile
        assert waited < 5.0
        assert (await huge).status_code == 200


async def test_queue_full_in_tokens_is_429_at_once(settings: Settings) -> None:
    async with in_process(settings.model_copy(update={"queue_tokens": 4096})) as (client, engine):
        huge = asyncio.create_task(
            client.post("/v1/embeddings", json={"input": huge_inputs("backlog")[:600]})
        )
        await wait_until(lambda: engine.pending_tokens > 4096)
        started = time.perf_counter()
        refused = await client.post(
            "/v1/embeddings", json={"input": [f"short {i}" for i in range(3)]}
        )
        assert time.perf_counter() - started < 1.0  # refused at once, not queued
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "rate_limit_error"
        assert "tokens" in refused.json()["error"]["message"]
        assert int(refused.headers["retry-after"]) >= 1
        assert (await huge).status_code == 200
