"""Exact input handling: unknown fields, strict booleans, filenames kept, one error vocabulary."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_chunks import upload_doc
from tests.api.test_files import assert_error, post_raw


async def _json_routes(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    file_id = await upload_doc(client, "paris.txt")
    return {
        "/v1/embeddings": {"input": "hello"},
        "/embeddings": {"input": "hello"},
        "/v1/chunks": {"id": file_id},
        f"/v1/files/{file_id}/embeddings": {},
    }


async def test_unknown_field_is_400_naming_it_on_every_json_route(
    client: httpx.AsyncClient,
) -> None:
    for path, body in (await _json_routes(client)).items():
        ok = await client.post(path, json=body)
        assert ok.status_code == 200, (path, ok.text)
        response = await client.post(path, json=body | {"chunk_capacty": 64})
        assert_error(response, 400, param="chunk_capacty")
        error = response.json()["error"]
        assert error["code"] == "unknown_parameter", path
        assert error["message"].startswith("Unknown field 'chunk_capacty'"), error


async def test_dimensions_on_file_embeddings_is_400(client: httpx.AsyncClient) -> None:
    file_id = await upload_doc(client, "paris.txt")
    response = await client.post(f"/v1/files/{file_id}/embeddings", json={"dimensions": 8})
    assert_error(response, 400, param="dimensions")
    assert response.json()["error"]["code"] == "unknown_parameter"


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, None])
async def test_truncate_must_be_a_boolean(client: httpx.AsyncClient, value: object) -> None:
    response = await client.post("/v1/embeddings", json={"input": "hi", "truncate": value})
    assert_error(response, 400, param="truncate")


async def test_file_embeddings_without_a_body(client: httpx.AsyncClient) -> None:
    file_id = await upload_doc(client, "paris.txt")
    response = await client.post(f"/v1/files/{file_id}/embeddings")
    assert response.status_code == 200, response.text
    assert response.json()["data"] and response.json()["model"] == "all-MiniLM-L6-v2"
    ndjson = {"accept": "application/x-ndjson"}
    streamed = await client.post(f"/v1/files/{file_id}/embeddings", headers=ndjson)
    assert streamed.status_code == 200, streamed.text
    assert len(streamed.text.splitlines()) == len(response.json()["data"])


async def test_chunks_errors_name_their_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/chunks", json={"id": "file_missing"})
    assert_error(response, 404, param="id")
    by_path = await client.post("/v1/files/file_missing/embeddings", json={})
    assert_error(by_path, 404, param="file_id")


async def test_unknown_routes_and_ids_share_one_vocabulary(client: httpx.AsyncClient) -> None:
    route = await client.get("/v1/nope")
    file = await client.get("/v1/files/file_missing")
    model = await client.get("/v1/models/no-such-model")
    for response in (route, file, model):
        assert_error(response, 404)
        assert response.json()["error"]["type"] == "invalid_request_error", response.text
    assert route.json()["error"]["code"] == file.json()["error"]["code"] == "not_found"
    assert route.json()["error"]["message"] == "Invalid URL (GET /v1/nope)"
    wrong_method = await client.put("/v1/embeddings", json={})
    assert_error(wrong_method, 405)
    assert wrong_method.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "name",
    [
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt",  # ZWNJ in Persian
        "👩\u200d💻 notes.md",  # ZWJ
        "a\u00a0b.txt",  # NBSP
        "line\u2028sep.txt",
        " spaced .txt",
        "\u200fאב.txt",  # RLM is a mark, not an override
    ],
)
async def test_filenames_round_trip(client: httpx.AsyncClient, name: str) -> None:
    response = await client.post("/v1/files", files={"file": (name, b"hello")})
    assert response.status_code == 200, response.text
    assert response.json()["filename"] == name
    file_id = response.json()["id"]
    assert (await client.get(f"/v1/files/{file_id}")).json()["filename"] == name
    content = await client.get(f"/v1/files/{file_id}/content")
    assert content.content == b"hello"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("a\x85b\x9f.txt", "ab.txt"),  # C1 controls
        ("a\x7fb.txt", "ab.txt"),
        ("invoice\u202etxt.exe", "invoicetxt.exe"),  # displays as "invoiceexe.txt"
        ("x\u2066y\u2069.txt", "xy.txt"),
    ],
)
async def test_controls_and_bidi_overrides_are_removed(
    client: httpx.AsyncClient, sent: str, stored: str
) -> None:
    response = await post_raw(client, f'filename="{sent}"'.encode(), b"hello")
    assert response.status_code == 200, response.text
    assert response.json()["filename"] == stored
