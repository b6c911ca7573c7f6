"""OpenAI's chunking_strategy on both chunk routes: each bound accepted or refused with a 400."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_chunks import DOCS, chunks_of, upload_doc
from tests.api.test_files import assert_error


def static(size: Any, overlap: Any) -> dict[str, Any]:
    return {
        "type": "static",
        "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap},
    }


@pytest.fixture
async def gpl_id(client: httpx.AsyncClient) -> str:
    return await upload_doc(client, "gpl-3.txt")


@pytest.mark.parametrize(
    ("strategy", "capacity", "overlap"),
    [
        ({"type": "auto"}, 510, 127),  # the model's capacity, a quarter overlapped
        (static(100, 0), 100, 0),  # OpenAI's least size
        (static(100, 50), 100, 50),  # overlap at most half
        (static(510, 255), 510, 255),  # the most all-MiniLM-L6-v2 takes
    ],
)
async def test_accepted_strategies_map_onto_capacity_and_overlap(
    client: httpx.AsyncClient, gpl_id: str, strategy: dict[str, Any], capacity: int, overlap: int
) -> None:
    result = await chunks_of(client, id=gpl_id, chunking_strategy=strategy)
    assert (result["chunk_capacity"], result["chunk_overlap"]) == (capacity, overlap)
    plain = await chunks_of(client, id=gpl_id, chunk_capacity=capacity, chunk_overlap=overlap)
    assert plain["chunks"] == result["chunks"]
    assert max(d["tokens"] for d in result["chunk_details"]) <= capacity


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"chunking_strategy": static(99, 0)}, "100"),
        ({"chunking_strategy": static(4097, 0)}, "4096"),
        ({"chunking_strategy": static(511, 0)}, "510"),  # above the model's window
        ({"chunking_strategy": static(4096, 0)}, "510"),
        ({"chunking_strategy": static(100, 51)}, "half"),
        ({"chunking_strategy": static(100, -1)}, "0"),
        ({"chunking_strategy": static("200", 0)}, "integer"),
        ({"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 200}}}, ""),
        ({"chunking_strategy": {"type": "static"}}, ""),
        ({"chunking_strategy": {"type": "semantic"}}, ""),
        ({"chunking_strategy": {"type": "auto", "static": {}}}, ""),
        ({"chunking_strategy": "auto"}, ""),
        ({"chunking_strategy": {"type": "auto"}, "chunk_capacity": 100}, "not both"),
        ({"chunking_strategy": {"type": "auto"}, "chunk_overlap": 0}, "not both"),
    ],
)
async def test_refused_strategies_name_the_field(
    client: httpx.AsyncClient, gpl_id: str, extra: dict[str, Any], message: str
) -> None:
    for path, body in (("/v1/chunks", {"id": gpl_id}), (f"/v1/files/{gpl_id}/embeddings", {})):
        response = await client.post(path, json=body | extra)
        assert_error(response, 400, param="chunking_strategy")
        assert message in response.json()["error"]["message"]


async def test_file_embeddings_take_the_same_strategy(client: httpx.AsyncClient) -> None:
    file_id = await upload_doc(client, "paris.txt", (DOCS / "paris.txt").read_bytes())
    strategy = static(100, 20)
    chunks = await chunks_of(client, id=file_id, chunking_strategy=strategy)
    response = await client.post(
        f"/v1/files/{file_id}/embeddings", json={"chunking_strategy": strategy}
    )
    assert response.status_code == 200, response.text
    assert [item["text"] for item in response.json()["data"]] == chunks["chunks"]
