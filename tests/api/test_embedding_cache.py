"""The embedding cache: shared by requests, survives restarts, keyed by the model file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from app.config import Settings
from app.registry.convert import convert_hf_to_gguf
from app.registry.prepare import DEFAULT_CONFIG, DEFAULT_GGUF_NAME, packaged_default_weights
from app.registry.stamp import file_sha256
from tests.conftest import AppRunner, another_weight_type

TEXTS = ["Cache me once.", "Cache me twice.", "A third sentence."]


async def embed(client: httpx.AsyncClient, inputs: Any) -> dict[str, Any]:
    response = await client.post("/v1/embeddings", json={"input": inputs})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cached_tokens(body: dict[str, Any]) -> int:
    return int(body["usage"]["prompt_tokens_details"]["cached_tokens"])


async def test_repeated_inputs_are_served_from_the_cache(
    run_app: AppRunner, settings: Settings
) -> None:
    async with run_app(settings) as client:
        first = await embed(client, TEXTS[:2])
        assert cached_tokens(first) == 0
        second = await embed(client, TEXTS)
        assert 0 < cached_tokens(second) < second["usage"]["prompt_tokens"]
        assert second["data"][0]["embedding"] == first["data"][0]["embedding"]
    async with run_app(settings) as client:  # persisted in SQLite across restarts
        again = await embed(client, TEXTS)
        assert cached_tokens(again) == again["usage"]["prompt_tokens"]
        assert [d["embedding"] for d in again["data"]] == [d["embedding"] for d in second["data"]]


async def test_cache_can_be_turned_off(run_app: AppRunner, settings: Settings) -> None:
    async with run_app(settings.model_copy(update={"embedding_cache": False})) as client:
        await embed(client, TEXTS)
        assert cached_tokens(await embed(client, TEXTS)) == 0


async def test_a_changed_model_file_never_serves_stale_vectors(
    run_app: AppRunner, settings: Settings, tmp_path: Path, default_gguf: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "all-MiniLM-L6-v2.yaml").write_text(DEFAULT_CONFIG)
    (models / DEFAULT_GGUF_NAME).symlink_to(default_gguf)
    configured = settings.model_copy(update={"models_dir": models, "prepare_default_model": False})
    async with run_app(configured) as client:
        await embed(client, TEXTS)
        assert cached_tokens(await embed(client, TEXTS)) > 0
    # Same name, different file (other weights than the default's): a new model identity.
    (models / DEFAULT_GGUF_NAME).unlink()
    other = another_weight_type(default_gguf)
    convert_hf_to_gguf(
        src=packaged_default_weights(), dst=models / DEFAULT_GGUF_NAME, outtype=other
    )
    assert file_sha256(models / DEFAULT_GGUF_NAME) != file_sha256(default_gguf)
    async with run_app(configured) as client:
        assert cached_tokens(await embed(client, TEXTS)) == 0


def engine_config(backend: str) -> str:
    pin = {"llama": "backend: llama-cpp", "openvino-f32": "backend: openvino\nprecision: f32"}
    return DEFAULT_CONFIG.replace("backend: sentencetransformers", pin[backend])


async def test_vectors_of_two_engines_never_mix(
    run_app: AppRunner, settings: Settings, tmp_path: Path, default_gguf: Path, default_ir: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / DEFAULT_GGUF_NAME).symlink_to(default_gguf)
    for suffix in (".xml", ".bin"):  # the same weights, as OpenVINO reads them
        (models / f"all-MiniLM-L6-v2{suffix}").symlink_to(default_ir.with_suffix(suffix))
    config = models / "all-MiniLM-L6-v2.yaml"
    configured = settings.model_copy(update={"models_dir": models, "prepare_default_model": False})
    served: dict[str, list[Any]] = {}
    for backend in ("llama", "openvino-f32", "llama"):
        config.write_text(engine_config(backend))
        async with run_app(configured) as client:
            first = await embed(client, TEXTS)
            again = await embed(client, TEXTS)
        vectors = [d["embedding"] for d in again["data"]]
        if backend in served:  # back to an engine seen before: its own cached vectors
            assert cached_tokens(first) == first["usage"]["prompt_tokens"]
            assert vectors == served[backend]
        else:  # a new engine over the same weights computes its own
            assert cached_tokens(first) == 0
            served[backend] = vectors
        assert cached_tokens(again) == again["usage"]["prompt_tokens"]
    assert served["llama"] != served["openvino-f32"]


async def _embedded_file(client: httpx.AsyncClient, name: str, text: str) -> str:
    upload = await client.post("/v1/files", files={"file": (name, text.encode())})
    assert upload.status_code == 200, upload.text
    file_id: str = upload.json()["id"]
    embedded = await client.post(f"/v1/files/{file_id}/embeddings", json={})
    assert embedded.status_code == 200, embedded.text
    return file_id


async def test_deleting_a_file_deletes_its_cached_vectors(client: httpx.AsyncClient) -> None:
    # Left behind, a hit or miss on /metrics told anyone whether a guessed text was embedded.
    own = "A sentence only the deleted file held."
    shared = "A sentence two files hold."
    doomed = await _embedded_file(client, "doomed.txt", own)
    both = await _embedded_file(client, "one.txt", shared)
    await _embedded_file(client, "two.txt", shared)
    assert cached_tokens(await embed(client, [own])) > 0
    for file_id in (doomed, both):
        assert (await client.delete(f"/v1/files/{file_id}")).status_code == 200
    assert cached_tokens(await embed(client, [own])) == 0
    assert cached_tokens(await embed(client, [shared])) > 0  # two.txt still holds it
