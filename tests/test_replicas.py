"""Two live `ragprep serve` replicas sharing one PostgreSQL database and one storage dir."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.db.dialect import is_sqlite
from benchmarks.live import LiveServer, launch_server, wait_ready
from tests import pg
from tests.conftest import DATA

pytestmark = pytest.mark.postgres

DOC = (DATA / "docs" / "gpl-3.txt").read_bytes()


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Both started at once on an empty database: they migrate it concurrently."""
    storage = tmp_path / "storage"
    env = {"RAGPREP_DATABASE_URL": postgres_url}
    servers = [launch_server(storage, env=env) for _ in range(2)]
    try:
        for server in servers:
            wait_ready(server, timeout=120)
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.kill()


def test_a_file_uploaded_through_one_is_served_by_the_other(
    replicas: tuple[LiveServer, LiveServer],
) -> None:
    one, other = replicas
    uploaded = httpx.post(f"{one.url}/v1/files", files={"file": ("gpl-3.txt", DOC)}, timeout=60)
    assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["id"]

    listed = httpx.get(f"{other.url}/v1/files").json()["data"]
    assert [f["id"] for f in listed] == [file_id]
    assert httpx.get(f"{other.url}/v1/files/{file_id}/content").content == DOC
    chunks = httpx.post(f"{other.url}/v1/chunks", json={"id": file_id}, timeout=120)
    assert chunks.status_code == 200, chunks.text
    assert len(chunks.json()["chunks"]) > 1

    deleted = httpx.delete(f"{other.url}/v1/files/{file_id}")
    assert deleted.status_code == 200, deleted.text
    for server in replicas:
        assert httpx.get(f"{server.url}/v1/files/{file_id}").status_code == 404
        assert httpx.get(f"{server.url}/v1/files").json()["data"] == []
    assert list((one.storage / "files").iterdir()) == []


async def test_concurrent_chunking_through_both_stores_one_chunk_set(
    replicas: tuple[LiveServer, LiveServer], postgres_url: str
) -> None:
    async with httpx.AsyncClient(timeout=300) as client:
        upload = {"file": ("gpl-3.txt", DOC)}
        uploaded = await client.post(f"{replicas[0].url}/v1/files", files=upload)
        file_id = uploaded.json()["id"]
        # Several requests through each replica at once: all chunk, then embed, the same file.
        requests = [
            client.post(f"{server.url}/v1/files/{file_id}/embeddings", json={})
            for server in replicas
            for _ in range(3)
        ]
        responses = await asyncio.gather(*requests)
    assert [r.status_code for r in responses] == [200] * len(responses), [
        r.text for r in responses if r.status_code != 200
    ]
    texts = {tuple(item["text"] for item in r.json()["data"]) for r in responses}
    assert len(texts) == 1  # every replica answered with the same chunks
    assert not is_sqlite(postgres_url)
    assert pg.count_rows(postgres_url, "chunk_sets") == 1
    assert pg.count_rows(postgres_url, "chunks") == len(responses[0].json()["data"])
    assert pg.count_rows(postgres_url, "embedding_cache") == len(texts.pop())


def test_a_search_on_either_replica_sees_what_the_other_just_indexed(
    replicas: tuple[LiveServer, LiveServer],
) -> None:
    one, other = replicas
    paris = {"file": ("paris.txt", (DATA / "docs" / "paris.txt").read_bytes())}
    query = {"query": "Which river flows through Paris?", "max_num_results": 3}
    with httpx.Client(timeout=60) as http:
        file_id = http.post(f"{one.url}/v1/files", files=paris).json()["id"]
        store_id = http.post(f"{one.url}/v1/vector_stores", json={"name": "shared"}).json()["id"]
        store = f"/v1/vector_stores/{store_id}"

        def hits(server: LiveServer) -> list[str]:
            response = http.post(f"{server.url}{store}/search", json=query)
            assert response.status_code == 200, response.text
            return [hit["file_id"] for hit in response.json()["data"]]

        assert hits(other) == []  # the other replica now holds the store's (empty) index
        added = http.post(f"{one.url}{store}/files", json={"file_id": file_id})
        assert added.status_code == 200, added.text
        deadline = time.monotonic() + 120
        while http.get(f"{one.url}{store}").json()["file_counts"]["in_progress"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        # At once, without waiting for anything: the index version tells the other replica.
        assert hits(other) == [file_id]
        removed = http.delete(f"{other.url}{store}/files/{file_id}")
        assert removed.status_code == 200, removed.text
        assert hits(one) == []
