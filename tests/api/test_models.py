"""/v1/models and the models/ registry: YAML, bare GGUF and HF folders, and start-up failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.config import Settings
from app.registry.prepare import DEFAULT_CONFIG, packaged_default_weights
from app.registry.specs import RegistryError
from tests.conftest import AppRunner, cosine


async def test_lists_default_model(run_app: AppRunner, settings: Settings) -> None:
    async with run_app(settings) as client:
        body = (await client.get("/v1/models")).json()
        [card] = body["data"]
        assert body["object"] == "list"
        assert card["id"] == "all-MiniLM-L6-v2" and card["object"] == "model"
        assert card["dimensions"] == 384 and card["context_length"] == 512
        assert card["pooling"] == "mean"
        assert "all-MiniLM-L6-v2-ggml-model-f16" in card["aliases"]
        assert isinstance(card["created"], int) and card["owned_by"]
        alias = await client.get("/v1/models/all-MiniLM-L6-v2-ggml-model-f16")
        assert alias.json()["id"] == "all-MiniLM-L6-v2"
        assert (await client.get("/v1/models/nope")).status_code == 404


def models_dir_with_default(tmp_path: Path, default_gguf: Path) -> Path:
    models = tmp_path / "models"
    models.mkdir()
    (models / default_gguf.name).symlink_to(default_gguf)
    (models / "all-MiniLM-L6-v2.yaml").write_text(DEFAULT_CONFIG)
    return models


async def test_models_added_to_registry_appear_after_restart(
    run_app: AppRunner, settings: Settings, tmp_path: Path, default_gguf: Path
) -> None:
    models = models_dir_with_default(tmp_path, default_gguf)
    configured = settings.model_copy(update={"models_dir": models, "prepare_default_model": False})
    async with run_app(configured) as client:
        assert len((await client.get("/v1/models")).json()["data"]) == 1

    shutil.copy(default_gguf, models / "bare-minilm.gguf")
    (models / "custom.yaml").write_text(
        "name: custom-embedder\nbackend: llama-cpp\nembeddings: true\n"
        f"parameters:\n  model: {default_gguf.name}\ncontext_size: 256\n"
        "aliases: [custom-alias]\nbatch: 1024\n"
    )
    (models / "chat.yaml").write_text("name: chat\nbackend: llama-cpp\nparameters:\n  model: x\n")
    shutil.copytree(packaged_default_weights(), models / "hf-minilm")

    async with run_app(configured) as client:
        cards = {c["id"]: c for c in (await client.get("/v1/models")).json()["data"]}
        assert set(cards) == {"all-MiniLM-L6-v2", "bare-minilm", "custom-embedder", "hf-minilm"}
        assert cards["custom-embedder"]["context_length"] == 256
        assert cards["custom-embedder"]["aliases"] == ["custom-alias"]
        texts = ["A converted folder embeds like the default model."]
        results = []
        for name in ("all-MiniLM-L6-v2", "custom-alias", "hf-minilm", "bare-minilm"):
            response = await client.post("/v1/embeddings", json={"input": texts, "model": name})
            results.append(response.json()["data"][0]["embedding"])
        assert all(cosine(results[0], other) > 0.9999 for other in results[1:])
        too_long = await client.post(
            "/v1/embeddings", json={"input": "word " * 300, "model": "custom-embedder"}
        )
        assert too_long.status_code == 400
    assert (models / ".cache" / "hf-minilm-f16.gguf").exists()


@pytest.mark.parametrize("problem", ["missing", "corrupt", "bad-yaml", "duplicate"])
async def test_broken_registry_fails_startup_naming_the_path(
    run_app: AppRunner, settings: Settings, tmp_path: Path, default_gguf: Path, problem: str
) -> None:
    models = models_dir_with_default(tmp_path, default_gguf)
    culprit = models / "broken.yaml"
    if problem == "missing":
        culprit.write_text("name: gone\nembeddings: true\nparameters:\n  model: gone.gguf\n")
        expected = str(models / "gone.gguf")
    elif problem == "corrupt":
        culprit = models / "half.gguf"
        culprit.write_bytes(default_gguf.read_bytes()[: 1 << 20])
        expected = str(culprit)
    elif problem == "bad-yaml":
        culprit.write_text("name: [unclosed\n")
        expected = str(culprit)
    else:
        culprit.write_text(
            f"name: all-MiniLM-L6-v2\nembeddings: true\nparameters:\n  model: {default_gguf.name}\n"
        )
        expected = str(culprit)
    configured = settings.model_copy(update={"models_dir": models, "prepare_default_model": False})
    with pytest.raises(RegistryError) as failure:
        async with run_app(configured):
            pass
    assert expected in str(failure.value)
