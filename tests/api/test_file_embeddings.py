"""POST /v1/files/{id}/embeddings: chunk and embed a stored file in one call, or as NDJSON."""

from __future__ import annotations

import asyncio
import json

import anyio
import httpx

from app.config import Settings
from app.main import create_app
from tests.api.test_chunks import DOCS, upload_doc
from tests.api.test_files import assert_error
from tests.conftest import AppRunner, cosine

NDJSON = "application/x-ndjson"


async def test_one_call_equals_chunks_then_embeddings(client: httpx.AsyncClient) -> None:
    file_id = await upload_doc(client, "fastapi-readme.md")
    response = await client.post(f"/v1/files/{file_id}/embeddings", json={"chunk_capacity": 200})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list" and body["file_id"] == file_id
    assert body["filename"] == "fastapi-readme.md" and body["model"] == "all-MiniLM-L6-v2"
    chunks = (await client.post("/v1/chunks", json={"id": file_id, "chunk_capacity": 200})).json()
    assert [d["text"] for d in body["data"]] == chunks["chunks"]
    assert [d["index"] for d in body["data"]] == list(range(len(chunks["chunks"])))
    for item, detail in zip(body["data"], chunks["chunk_details"], strict=True):
        assert (item["start"], item["end"], item["tokens"]) == (
            detail["start"],
            detail["end"],
            detail["tokens"],
        )
    direct = (await client.post("/v1/embeddings", json={"input": chunks["chunks"]})).json()
    for item, plain in zip(body["data"], direct["data"], strict=True):
        assert cosine(item["embedding"], plain["embedding"]) > 0.99999
    assert body["usage"]["prompt_tokens"] == direct["usage"]["prompt_tokens"]
    assert not any(item["cached"] for item in body["data"])
    assert (
        direct["usage"]["prompt_tokens_details"]["cached_tokens"]
        == direct["usage"]["prompt_tokens"]
    )


async def test_ndjson_streams_one_chunk_per_line(client: httpx.AsyncClient) -> None:
    file_id = await upload_doc(client, "gpl-3.txt")
    plain = await client.post(f"/v1/files/{file_id}/embeddings", json={"chunk_capacity": 128})
    expected = plain.json()["data"]
    lines = []
    async with client.stream(
        "POST",
        f"/v1/files/{file_id}/embeddings",
        json={"chunk_capacity": 128, "encoding_format": "base64"},
        headers={"accept": "application/x-ndjson"},
    ) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        async for line in response.aiter_lines():
            if line:
                lines.append(json.loads(line))
    assert [item["index"] for item in lines] == list(range(len(expected)))
    assert all(item["cached"] for item in lines)  # the plain call above filled the cache
    assert all(isinstance(item["embedding"], str) for item in lines)
    assert len(expected) > 64  # spans several streaming steps


async def test_errors(client: httpx.AsyncClient) -> None:
    missing = await client.post("/v1/files/file_nope/embeddings", json={})
    assert_error(missing, 404)
    gif_id = await upload_doc(client, "x.gif", b"GIF89a\x00\x00binary")
    assert_error(await client.post(f"/v1/files/{gif_id}/embeddings", json={}), 415)
    text_id = await upload_doc(client, "paris.txt", (DOCS / "paris.txt").read_bytes())
    bad = await client.post(f"/v1/files/{text_id}/embeddings", json={"chunk_capacity": 9999})
    assert_error(bad, 400, param="chunk_capacity")
    assert_error(await client.post(f"/v1/files/{text_id}/embeddings", json={"model": "nope"}), 404)


async def test_files_can_be_found_by_content_hash(client: httpx.AsyncClient) -> None:
    import hashlib

    data = (DOCS / "paris.txt").read_bytes()
    file_id = await upload_doc(client, "paris.txt", data)
    await upload_doc(client, "other.txt", b"something else")
    digest = hashlib.sha256(data).hexdigest()
    found = (await client.get("/v1/files", params={"sha256": digest})).json()["data"]
    assert [f["id"] for f in found] == [file_id]


async def test_many_concurrent_streams_never_starve_the_database(
    client: httpx.AsyncClient,
) -> None:
    # More streams than the connection pool has connections (15): a request that held its
    # session for the whole stream would leave the rest waiting 30 s for a 500.
    file_id = await upload_doc(client, "paris.txt")
    body = {"chunk_capacity": 64, "encoding_format": "base64"}
    url = f"/v1/files/{file_id}/embeddings"
    first = await client.post(url, json=body)  # chunks stored, vectors cached
    assert first.status_code == 200, first.text

    async def stream() -> httpx.Response:
        return await client.post(url, json=body, headers={"accept": NDJSON})

    with anyio.fail_after(20):
        responses = await asyncio.gather(*(stream() for _ in range(24)))
    expected = len(first.json()["data"])
    for response in responses:
        assert response.status_code == 200, response.text
        assert len(response.text.splitlines()) == expected


async def test_stream_cut_short_ends_with_an_error_line(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            file_id = await upload_doc(client, "gpl-3.txt")
            body = {"id": file_id, "chunk_capacity": 128}
            texts = (await client.post("/v1/chunks", json=body)).json()["chunks"]
            assert len(texts) > 64
            # The first streaming step (64 chunks) comes from the cache; the engine is gone.
            await client.post("/v1/embeddings", json={"input": texts[:64]})
            await anyio.to_thread.run_sync(app.state.services.catalog.stop)

            url = f"/v1/files/{file_id}/embeddings"
            response = await client.post(
                url, json={"chunk_capacity": 128}, headers={"accept": NDJSON}
            )
            assert response.status_code == 200  # sent before the failing step
            lines = [json.loads(line) for line in response.text.splitlines()]
            assert [item["index"] for item in lines[:-1]] == list(range(64))
            assert set(lines[-1]) == {"error"}
            assert lines[-1]["error"]["code"] == "unavailable"
            assert lines[-1]["error"]["type"] == "server_error"

            # A first step that fails keeps its status, streamed or not.
            for accept in (NDJSON, "application/json"):
                failed = await client.post(
                    url, json={"chunk_capacity": 96}, headers={"accept": accept}
                )
                assert_error(failed, 503)


async def test_one_json_body_is_bounded_the_stream_is_not(
    run_app: AppRunner, settings: Settings
) -> None:
    async with run_app(settings.model_copy(update={"max_inputs": 8})) as client:
        file_id = await upload_doc(client, "gpl-3.txt")
        url = f"/v1/files/{file_id}/embeddings"
        body = {"chunk_capacity": 256}
        refused = await client.post(url, json=body)
        assert_error(refused, 400, param="file_id")
        assert refused.json()["error"]["code"] == "too_many_chunks"
        assert NDJSON in refused.json()["error"]["message"]
        streamed = await client.post(url, json=body, headers={"accept": NDJSON})
        assert streamed.status_code == 200
        assert len(streamed.text.splitlines()) > 8
