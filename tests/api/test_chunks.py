"""/v1/chunks on real documents: the seed flow, the chunk invariants, storage and every error."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.engine.llama import LlamaTokenizer
from app.engine.tiktoken_tokenizer import TiktokenTokenizer
from app.extract.text import decode_text
from app.registry.convert import convert_hf_to_gguf
from app.registry.prepare import packaged_default_weights
from app.registry.stamp import file_sha256
from tests import pg
from tests.api.test_files import assert_error
from tests.conftest import DATA, AppRunner, another_weight_type

DOCS = DATA / "docs"
SEED_MODEL = "all-MiniLM-L6-v2-ggml-model-f16"


async def upload_doc(client: httpx.AsyncClient, name: str, data: bytes | None = None) -> str:
    payload = data if data is not None else (DOCS / name).read_bytes()
    response = await client.post("/v1/files", files={"file": (name, payload)})
    assert response.status_code == 200, response.text
    file_id: str = response.json()["id"]
    return file_id


async def chunks_of(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/chunks", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def count_rows(settings: Settings, table: str) -> int:
    return pg.count_rows(settings.database_url, table)


async def test_seed_flow_upload_chunk_embed(client: httpx.AsyncClient) -> None:
    file_id = await upload_doc(client, "paris.txt")
    result = await chunks_of(client, id=file_id, filename="paris.txt")
    assert result["id"] == file_id and result["filename"] == "paris.txt"
    assert result["chunks"] and all(isinstance(c, str) for c in result["chunks"])
    assert result["model"] == "all-MiniLM-L6-v2" and result["chunk_capacity"] == 510
    small = await chunks_of(client, id=file_id, filename="paris.txt", chunk_capacity=64)
    assert len(small["chunks"]) > 1
    response = await client.post(
        "/v1/embeddings", json={"model": SEED_MODEL, "input": small["chunks"]}
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == len(small["chunks"])


@pytest.mark.parametrize("name", ["gpl-3.txt", "fastapi-readme.md", "paris.txt"])
@pytest.mark.parametrize("capacity", [None, 100])
async def test_invariants_on_real_documents(
    client: httpx.AsyncClient, model_tokenizer: LlamaTokenizer, name: str, capacity: int | None
) -> None:
    file_id = await upload_doc(client, name)
    body = {"id": file_id} | ({"chunk_capacity": capacity} if capacity else {})
    result = await chunks_of(client, **body)
    text = decode_text((DOCS / name).read_bytes(), filename=name)
    limit = result["chunk_capacity"]
    covered = []
    previous_end = 0
    for chunk, detail in zip(result["chunks"], result["chunk_details"], strict=True):
        assert model_tokenizer.count(chunk) == detail["tokens"] <= limit
        assert text[detail["start"] : detail["end"]].strip() == chunk.strip()
        assert detail["start"] >= previous_end  # document order, no overlap
        previous_end = detail["end"]
        covered.append("".join(chunk.split()))
    assert "".join(covered) == "".join(text.split())  # every non-space char exactly once
    if capacity is None:  # default-capacity chunks must all embed without truncation
        embedded = await client.post("/v1/embeddings", json={"input": result["chunks"]})
        assert embedded.status_code == 200, embedded.text


async def test_overlap_and_cl100k_sizing_stay_within_the_model_window(
    client: httpx.AsyncClient, model_tokenizer: LlamaTokenizer
) -> None:
    file_id = await upload_doc(client, "gpl-3.txt")
    overlapped = await chunks_of(client, id=file_id, chunk_capacity=120, chunk_overlap=30)
    starts = [d["start"] for d in overlapped["chunk_details"]]
    ends = [d["end"] for d in overlapped["chunk_details"]]
    assert starts == sorted(starts)
    assert any(s < e for s, e in zip(starts[1:], ends[:-1], strict=False))  # real overlap
    cl100k = TiktokenTokenizer(window=8192)
    by_openai = await chunks_of(client, id=file_id, tokenizer="cl100k_base", chunk_capacity=500)
    assert by_openai["tokenizer"] == "cl100k_base"
    for chunk in by_openai["chunks"]:
        assert cl100k.count(chunk) <= 500
        assert model_tokenizer.count(chunk) <= 510


async def test_chunks_are_stored_reused_and_deleted_with_the_file(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    file_id = await upload_doc(client, "gpl-3.txt")
    first = await chunks_of(client, id=file_id)
    again = await chunks_of(client, id=file_id, chunk_capacity=510)  # same as the default
    assert again == first
    assert count_rows(settings, "chunk_sets") == 1
    assert count_rows(settings, "chunks") == len(first["chunks"])
    await chunks_of(client, id=file_id, chunk_capacity=200)
    assert count_rows(settings, "chunk_sets") == 2
    await client.delete(f"/v1/files/{file_id}")
    assert count_rows(settings, "chunk_sets") == 0
    assert count_rows(settings, "chunks") == 0


async def test_a_model_file_replaced_under_the_same_name_rechunks(
    run_app: AppRunner, settings: Settings, tmp_path: Path, default_gguf: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(default_gguf, models / "mini.gguf")
    configured = settings.model_copy(update={"models_dir": models, "prepare_default_model": False})
    async with run_app(configured) as client:
        file_id = await upload_doc(client, "gpl-3.txt")
        await chunks_of(client, id=file_id)
    # Same name, different file: stored chunks must not outlive the model that sized them.
    other = another_weight_type(default_gguf)
    convert_hf_to_gguf(src=packaged_default_weights(), dst=models / "mini.gguf", outtype=other)
    assert file_sha256(models / "mini.gguf") != file_sha256(default_gguf)
    async with run_app(configured) as client:
        await chunks_of(client, id=file_id)
    assert count_rows(settings, "chunk_sets") == 2


async def test_utf16_and_bom_documents_decode(client: httpx.AsyncClient) -> None:
    text = (DOCS / "paris.txt").read_text(encoding="utf-8")
    for name, data in [
        ("le.txt", text.encode("utf-16")),
        ("be.txt", b"\xfe\xff" + text.encode("utf-16-be")),
        ("bom.txt", b"\xef\xbb\xbf" + text.encode()),
    ]:
        result = await chunks_of(client, id=await upload_doc(client, name, data))
        assert result["chunks"][0].startswith("Paris is the capital")


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"chunk_capacity": 0}, 400, "chunk_capacity"),
        ({"chunk_capacity": -5}, 400, "chunk_capacity"),
        ({"chunk_capacity": 511}, 400, "chunk_capacity"),
        ({"chunk_capacity": 100, "chunk_overlap": 100}, 400, "chunk_overlap"),
        ({"chunk_overlap": -1}, 400, "chunk_overlap"),
        ({"filename": "other.txt"}, 400, "filename"),
        ({"tokenizer": "gpt2"}, 400, "tokenizer"),
        ({"model": "nope"}, 404, "model"),
        ({"chunk_capacity": "many"}, 400, "chunk_capacity"),
    ],
)
async def test_bad_requests(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, param: str
) -> None:
    file_id = await upload_doc(client, "paris.txt")
    response = await client.post("/v1/chunks", json={"id": file_id} | body)
    assert_error(response, status, param=param)
    if param == "chunk_capacity" and status == 400 and isinstance(body[param], int):
        assert "510" in response.json()["error"]["message"]


async def test_unknown_file_binary_and_blank_documents(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert_error(await client.post("/v1/chunks", json={"id": "file_nope"}), 404)
    assert_error(await client.post("/v1/chunks", json={}), 400, param="id")
    gif = b"GIF89a" + bytes(range(256)) * 4  # images other than PNG, JPEG and TIFF
    binary = await client.post("/v1/chunks", json={"id": await upload_doc(client, "a.gif", gif)})
    assert_error(binary, 415)
    assert "a.gif" in binary.json()["error"]["message"]
    blank = await client.post(
        "/v1/chunks", json={"id": await upload_doc(client, "b.txt", b" \n\t ")}
    )
    assert_error(blank, 422)
    assert blank.json()["error"]["code"] == "empty_document"
    assert count_rows(settings, "chunk_sets") == 0
