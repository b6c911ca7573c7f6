"""What operators see: /metrics that moves with traffic, X-Request-ID, HEAD, auth before body."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.main import create_app
from app.observability.logs import JsonFormatter, RequestIdFilter, current_request_id
from tests.api.test_chunks import upload_doc
from tests.api.test_files import assert_error
from tests.api.test_security import assert_unauthorized, bearer
from tests.conftest import AppRunner

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_move_with_traffic(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    model = {"model": "all-MiniLM-L6-v2"}
    file_id = await upload_doc(client, "paris.txt")
    texts = ["alpha beta", "gamma delta epsilon", "zeta"]
    for _ in range(2):  # the second round is served from the cache
        response = await client.post("/v1/embeddings", json={"input": texts})
        assert response.status_code == 200, response.text
    assert (await client.post("/v1/chunks", json={"id": file_id})).status_code == 200
    assert (await client.get("/v1/files/file_missing")).status_code == 404
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"route": "/v1/embeddings", "method": "POST", "status": "200"}
    assert moved("ragprep_http_requests_total", **route) == 2
    missing = {"route": "/v1/files/{file_id}", "method": "GET", "status": "404"}
    assert moved("ragprep_http_requests_total", **missing) == 1
    timed = {"route": "/v1/embeddings", "method": "POST"}
    assert moved("ragprep_http_request_duration_seconds_count", **timed) == 2
    assert moved("ragprep_http_request_duration_seconds_sum", **timed) > 0
    assert moved("ragprep_embedding_cache_lookups_total", **model, result="miss") == 3
    assert moved("ragprep_embedding_cache_lookups_total", **model, result="hit") == 3
    tokens = moved("ragprep_embedding_tokens_total", **model)
    assert tokens == response.json()["usage"]["prompt_tokens"]
    assert moved("ragprep_embedding_batch_tokens_sum", **model) == tokens
    assert moved("ragprep_embedding_batch_size_sum", **model) == 3
    assert value(after, "ragprep_embedding_queue_inputs", **model) == 0
    assert value(after, "ragprep_embedding_queue_tokens", **model) == 0
    assert moved("ragprep_chunking_duration_seconds_count", **model) == 1
    assert moved("ragprep_upload_bytes_total") > len(b"Paris") * 10
    assert ("ragprep_extraction_seconds_count", frozenset()) not in after  # labelled, unused


async def test_unmatched_routes_do_not_explode_the_series(client: httpx.AsyncClient) -> None:
    for n in range(3):
        assert (await client.get(f"/v1/nope/{n}")).status_code == 404
    samples = await scrape(client)
    labels = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(samples, "ragprep_http_requests_total", **labels) == 3
    assert not any("/v1/nope" in str(key) for key in samples)


async def test_made_up_methods_share_one_label(client: httpx.AsyncClient) -> None:
    # One series per method name let 30,000 random names make 600,000 series.
    for n in range(5):
        response = await client.request(f"BREW{n}", "/health")
        assert response.status_code == 405
    await client.request("PROPFIND", "/v1/nope")
    samples = await scrape(client)
    methods = {dict(labels).get("method") for _, labels in samples} - {None}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    labels = {"route": "/health", "method": "other", "status": "405"}
    assert value(samples, "ragprep_http_requests_total", **labels) == 5
    unmatched = {"route": "unmatched", "method": "other", "status": "404"}
    assert value(samples, "ragprep_http_requests_total", **unmatched) == 1


async def test_rejections_are_counted(run_app: AppRunner, settings: Settings) -> None:
    tiny = settings.model_copy(update={"queue_size": 1, "embedding_cache": False})
    async with run_app(tiny) as client:
        texts = [f"sentence number {n} " * 40 for n in range(40)]
        responses = await asyncio.gather(
            *(client.post("/v1/embeddings", json={"input": [t]}) for t in texts)
        )
        refused = sum(r.status_code == 429 for r in responses)
        assert refused > 0
        samples = await scrape(client)
        counted = value(samples, "ragprep_http_rejected_total", model="all-MiniLM-L6-v2")
        assert counted == refused


async def test_metrics_need_the_key_when_keys_are_set(
    run_app: AppRunner, settings: Settings
) -> None:
    async with run_app(settings.model_copy(update={"api_keys": ["k"]})) as client:
        assert_unauthorized(await client.get("/metrics"))
        await scrape(client, **bearer("k"))


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/health", headers={"x-request-id": "abc-123.x"})
    assert echoed.headers["x-request-id"] == "abc-123.x"
    generated = await client.get("/health")
    other = await client.get("/v1/nope")
    ids = {generated.headers["x-request-id"], other.headers["x-request-id"]}
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)
    # Not sane (too long, spaces, non-ASCII): replaced, never echoed into logs and headers.
    for bad in ["x" * 200, "a b", "é"]:
        response = await client.get("/health", headers={b"x-request-id": bad.encode()})
        assert response.headers["x-request-id"] != bad
        assert len(response.headers["x-request-id"]) == 32


async def test_errors_before_the_app_carry_the_request_id(
    run_app: AppRunner, settings: Settings
) -> None:
    small = settings.model_copy(update={"max_json_bytes": 10, "api_keys": ["k"]})
    async with run_app(small) as client:
        unauthorized = await client.post("/v1/embeddings", json={}, headers={"x-request-id": "r1"})
        assert unauthorized.status_code == 401 and unauthorized.headers["x-request-id"] == "r1"
        headers = bearer("k") | {"x-request-id": "r2"}
        too_large = await client.post("/v1/embeddings", json={"input": "hello"}, headers=headers)
        assert too_large.status_code == 413 and too_large.headers["x-request-id"] == "r2"


def test_json_log_lines_carry_the_request_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ragprep.test.json")
    logger.addHandler(handler)
    try:
        token = current_request_id.set("req-7")
        logger.warning("line one\nline two \u2028 end")
        current_request_id.reset(token)
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["request_id"] == "req-7" and first["message"] == "line one\nline two \u2028 end"
    assert first["level"] == "WARNING" and first["logger"] == "ragprep.test.json"
    assert second["request_id"] == "-"


async def test_head_on_every_get_route(client: httpx.AsyncClient) -> None:
    file_id = await upload_doc(client, "paris.txt")
    paths = [
        "/health",
        "/metrics",
        "/v1/models",
        "/v1/models/all-MiniLM-L6-v2",
        "/v1/files",
        f"/v1/files/{file_id}",
        f"/v1/files/{file_id}/content",
    ]
    for path in paths:
        get = await client.get(path)
        head = await client.head(path)
        assert head.status_code == get.status_code == 200, (path, head.status_code)
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
        if path != "/metrics":  # the scrape itself changes the next one's length
            assert head.headers["content-length"] == str(len(get.content)), path
    content = await client.head(f"/v1/files/{file_id}/content")
    assert "attachment" in content.headers["content-disposition"]
    missing = await client.head("/v1/files/file_missing")
    assert missing.status_code == 404 and missing.content == b""
    assert (await client.head("/v1/embeddings")).status_code == 405


async def test_unauthenticated_body_is_never_read(run_app: AppRunner, settings: Settings) -> None:
    pulled = 0
    chunk = b"[" + b"1," * 65_536

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(100):  # 12.8 MB if read whole
            pulled += 1
            yield chunk

    keyed = settings.model_copy(update={"api_keys": ["k"]})
    async with run_app(keyed) as client:
        headers = {"content-type": "application/json"}
        for path in ("/v1/embeddings", "/v1/files", "/v1/chunks"):
            pulled = 0
            response = await client.post(path, content=body(), headers=headers)
            assert_unauthorized(response)
            assert response.headers["connection"] == "close"
            assert pulled <= 1, (path, pulled)
        with_key = await client.post("/v1/embeddings", json={"input": "hi"}, headers=bearer("k"))
        assert with_key.status_code == 200, with_key.text
        assert_error(await client.get("/v1/files/x", headers=bearer("k")), 404)


async def test_an_unhandled_error_is_a_500_envelope_with_the_request_id(settings: Settings) -> None:
    app = create_app(settings)

    async def broken() -> None:
        raise RuntimeError("a bug")

    # A route of the test's own: no route of ours fails on purpose.
    app.add_api_route("/broken", broken)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://ragprep.test") as client:
            response = await client.get("/broken", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-500"
    assert response.json()["error"]["code"] == "internal_error"
    assert "a bug" not in response.text  # internals are logged, never echoed
