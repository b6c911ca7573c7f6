"""Shared steps of the vector store tests: make a store of real documents, wait for indexing."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx

from tests.api.test_chunks import upload_doc

TIMEOUT = 120.0  # seconds for a store's files to be indexed on a loaded 2-core machine


async def create_store(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/vector_stores", json=body)
    assert response.status_code == 200, response.text
    store: dict[str, Any] = response.json()
    return store


async def wait_indexed(client: httpx.AsyncClient, store_id: str) -> dict[str, Any]:
    """The store once no file is in progress any more."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        store: dict[str, Any] = (await client.get(f"/v1/vector_stores/{store_id}")).json()
        if store["file_counts"]["in_progress"] == 0:
            return store
        assert time.monotonic() < deadline, store
        await anyio.sleep(0.1)


async def store_of_docs(
    client: httpx.AsyncClient, docs: dict[str, bytes | None], **body: Any
) -> tuple[str, dict[str, str]]:
    """A store holding the named documents (from tests/data/docs, or the bytes given),
    indexed; returns its id and the file ids by name."""
    ids = {name: await upload_doc(client, name, data) for name, data in docs.items()}
    store = await create_store(client, file_ids=list(ids.values()), **body)
    await wait_indexed(client, store["id"])
    return store["id"], ids


async def search(client: httpx.AsyncClient, store_id: str, **body: Any) -> httpx.Response:
    return await client.post(f"/v1/vector_stores/{store_id}/search", json=body)
