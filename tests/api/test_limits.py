"""Request limits: each answered with a clear 4xx in the OpenAI envelope, never a 5xx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from app.config import Settings
from tests.api.test_files import assert_error, upload
from tests.conftest import AppRunner


@pytest.fixture
def small(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_json_bytes": 2000, "max_request_tokens": 60})


async def trickle(data: bytes, step: int = 300) -> AsyncIterator[bytes]:
    """A body without Content-Length (chunked): only counting while reading can stop it."""
    for start in range(0, len(data), step):
        yield data[start : start + step]


def big_json() -> bytes:
    return json.dumps({"input": "word " * 1000}).encode()


async def test_declared_oversized_json_is_413(run_app: AppRunner, small: Settings) -> None:
    async with run_app(small) as client:
        response = await client.post(
            "/v1/embeddings", content=big_json(), headers={"content-type": "application/json"}
        )
        assert_error(response, 413)
        assert response.json()["error"]["code"] == "payload_too_large"
        assert "2000-byte limit" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/embeddings", "/v1/chunks", "/v1/files/file_x/embeddings"])
async def test_streamed_oversized_json_is_413(
    run_app: AppRunner, small: Settings, path: str
) -> None:
    async with run_app(small) as client:
        headers = {"content-type": "application/json"}
        response = await client.post(path, content=trickle(big_json()), headers=headers)
        assert_error(response, 413)
        ok = await client.post(
            "/v1/embeddings", content=trickle(b'{"input": "hi"}'), headers=headers
        )
        assert ok.status_code == 200, ok.text


async def test_uploads_have_their_own_limit(run_app: AppRunner, small: Settings) -> None:
    async with run_app(small) as client:
        response = await upload(client, "big.txt", b"x" * 50_000)
        assert response.status_code == 200, response.text


async def test_total_tokens_over_the_limit_is_400(run_app: AppRunner, small: Settings) -> None:
    async with run_app(small) as client:
        inputs = ["one two three four five six seven eight nine ten"] * 6
        response = await client.post("/v1/embeddings", json={"input": inputs})
        assert_error(response, 400, param="input")
        error = response.json()["error"]
        assert error["code"] == "max_tokens_per_request"
        total = (await client.post("/v1/embeddings", json={"input": inputs[:1]})).json()
        assert f"{total['usage']['total_tokens'] * 6} tokens" in error["message"]
        assert "at most 60" in error["message"]


async def test_too_many_inputs_is_400(run_app: AppRunner, settings: Settings) -> None:
    async with run_app(settings.model_copy(update={"max_inputs": 3})) as client:
        response = await client.post("/v1/embeddings", json={"input": ["a", "b", "c", "d"]})
        assert_error(response, 400, param="input")


async def test_full_queue_is_429_never_5xx_or_stuck(run_app: AppRunner, settings: Settings) -> None:
    # A tiny queue and no cache: most of 24 concurrent requests cannot be queued at once.
    tight = settings.model_copy(update={"queue_size": 32, "embedding_cache": False})

    async def one(client: httpx.AsyncClient, n: int) -> httpx.Response:
        inputs = [f"request {n} sentence {i} about bounded queues" for i in range(16)]
        return await client.post("/v1/embeddings", json={"input": inputs})

    async with run_app(tight) as client:
        with anyio.fail_after(180):
            responses = await asyncio.gather(*(one(client, n) for n in range(24)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) == {200, 429}, statuses
    for response in responses:
        if response.status_code == 429:
            assert_error(response, 429)
            assert response.headers["retry-after"] == "1"
            assert response.json()["error"]["type"] == "rate_limit_error"


async def test_token_ids_over_budget_are_refused_before_decoding(
    run_app: AppRunner, settings: Settings
) -> None:
    # 1000 ids would decode and truncate to one 512-token window, under the 600 budget: the
    # budget holds on what was sent, so they are refused before any decoding.
    budget = settings.model_copy(update={"max_request_tokens": 600})
    ids = [24748] * 1000  # cl100k " hello"
    async with run_app(budget) as client:
        body = {"input": ids, "truncate": True}
        response = await client.post("/v1/embeddings", json=body)
        assert_error(response, 400, param="input")
        error = response.json()["error"]
        assert error["code"] == "max_tokens_per_request"
        assert "1000 token ids" in error["message"]
        split = await client.post("/v1/embeddings", json={"input": [ids[:290]] * 2})
        assert split.status_code == 200, split.text
        assert split.json()["usage"]["prompt_tokens"] <= 600
