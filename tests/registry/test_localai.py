"""LocalAI model configs, as its own docs write them, load unchanged (or fail saying what to do)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.cli import main
from app.config import Settings
from app.registry.prepare import DEFAULT_CONFIG, packaged_default_weights
from app.registry.specs import RegistryError
from tests.conftest import AppRunner, cosine

# LocalAI docs, "Embeddings": the sentencetransformers example, verbatim.
SENTENCE_TRANSFORMERS = """\
name: text-embedding-ada-002
backend: sentencetransformers
embeddings: true
parameters:
  model: all-MiniLM-L6-v2
"""
# LocalAI docs, "Embeddings": the llama.cpp example (its model file name adapted).
LLAMA = """\
name: my-awesome-model
backend: {backend}
embeddings: true
parameters:
  model: {model}
"""
# LocalAI docs, "Embeddings": the bert-embeddings example, verbatim.
BERT = """\
name: text-embedding-ada-002
parameters:
  model: bert
backend: bert-embeddings
embeddings: true
"""
TEXT = ["LocalAI configs load unchanged."]


@pytest.fixture
def models(tmp_path: Path, default_gguf: Path) -> Path:
    models = tmp_path / "models"
    models.mkdir()
    (models / default_gguf.name).symlink_to(default_gguf)
    (models / "all-MiniLM-L6-v2.yaml").write_text(DEFAULT_CONFIG)
    return models


def configured(settings: Settings, models: Path) -> Settings:
    return settings.model_copy(update={"models_dir": models, "prepare_default_model": False})


async def vectors(client: object, *names: str) -> list[list[float]]:
    out = []
    for name in names:
        response = await client.post("/v1/embeddings", json={"input": TEXT, "model": name})  # type: ignore[attr-defined]
        assert response.status_code == 200, response.text
        out.append(response.json()["data"][0]["embedding"])
    return out


async def test_sentencetransformers_example_serves_the_packaged_default(
    run_app: AppRunner, settings: Settings, models: Path
) -> None:
    (models / "embeddings.yaml").write_text(SENTENCE_TRANSFORMERS)
    async with run_app(configured(settings, models)) as client:
        ids = {card["id"] for card in (await client.get("/v1/models")).json()["data"]}
        assert ids == {"all-MiniLM-L6-v2", "text-embedding-ada-002"}
        ada, default = await vectors(client, "text-embedding-ada-002", "all-MiniLM-L6-v2")
        assert cosine(ada, default) > 0.999999
        catalog = client._transport.app.state.services.catalog  # type: ignore[attr-defined]
        # One file, loaded once: both names share its weights, contexts and queue.
        assert catalog.get("text-embedding-ada-002").engine is catalog.get(None).engine


async def test_sentencetransformers_local_folder_is_converted(
    run_app: AppRunner, settings: Settings, models: Path
) -> None:
    shutil.copytree(packaged_default_weights(), models / "minilm-folder")
    (models / "st.yaml").write_text(
        SENTENCE_TRANSFORMERS.replace("all-MiniLM-L6-v2", "minilm-folder").replace(
            "text-embedding-ada-002", "st-folder"
        )
    )
    async with run_app(configured(settings, models)) as client:
        folder, default = await vectors(client, "st-folder", "all-MiniLM-L6-v2")
        assert cosine(folder, default) > 0.9999
    assert (models / ".cache" / "minilm-folder-f16.gguf").exists()


async def test_sentencetransformers_unknown_model_stops_startup_saying_what_to_do(
    run_app: AppRunner, settings: Settings, models: Path
) -> None:
    (models / "bge.yaml").write_text(
        SENTENCE_TRANSFORMERS.replace("all-MiniLM-L6-v2", "BAAI/bge-small-en-v1.5")
    )
    with pytest.raises(RegistryError) as failure:
        async with run_app(configured(settings, models)):
            pass
    message = str(failure.value)
    assert "not available offline" in message and str(models / "BAAI/bge-small-en-v1.5") in message
    assert "ragprep models convert" in message


@pytest.mark.parametrize("content", [b"ggjt\x01\x00\x00\x00" + bytes(64), None])
async def test_bert_embeddings_ggml_file_says_how_to_convert(
    run_app: AppRunner, settings: Settings, models: Path, content: bytes | None
) -> None:
    (models / "bert.yaml").write_text(BERT)
    if content is not None:
        (models / "bert").write_bytes(content)  # a bert.cpp ggml file, as LocalAI used them
    with pytest.raises(RegistryError) as failure:
        async with run_app(configured(settings, models)):
            pass
    message = str(failure.value)
    assert str(models / "bert") in message
    assert "ragprep models convert HF_DIR bert.gguf" in message
    assert "backend: sentencetransformers" in message


async def test_bert_embeddings_with_a_gguf_loads(
    run_app: AppRunner, settings: Settings, models: Path, default_gguf: Path
) -> None:
    shutil.copy(default_gguf, models / "bert")
    (models / "bert.yaml").write_text(BERT.replace("text-embedding-ada-002", "bert-gguf"))
    async with run_app(configured(settings, models)) as client:
        bert, default = await vectors(client, "bert-gguf", "all-MiniLM-L6-v2")
        assert cosine(bert, default) > 0.999999


@pytest.mark.parametrize("backend", ["llama-cpp", "llama"])
async def test_llama_backend_example_loads(
    run_app: AppRunner, settings: Settings, models: Path, default_gguf: Path, backend: str
) -> None:
    shutil.copy(default_gguf, models / "x.gguf")
    (models / "mine.yaml").write_text(LLAMA.format(backend=backend, model="x.gguf"))
    async with run_app(configured(settings, models)) as client:
        mine, default = await vectors(client, "my-awesome-model", "all-MiniLM-L6-v2")
        assert cosine(mine, default) > 0.999999


def test_models_list_shows_skipped_and_failed_with_reasons(
    models: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGPREP_PREPARE_DEFAULT_MODEL", "false")
    (models / "embeddings.yaml").write_text(SENTENCE_TRANSFORMERS)
    (models / "chat.yaml").write_text("name: chat\nbackend: llama-cpp\nparameters:\n  model: c\n")
    (models / "whisper.yaml").write_text("name: stt\nbackend: whisper\nparameters:\n  model: w\n")
    (models / "bert.yaml").write_text(BERT.replace("text-embedding-ada-002", "old-bert"))
    code = main(["models", "--models-dir", str(models), "list"])
    listing = json.loads(capsys.readouterr().out)
    assert code == 1  # a failed config is an error for scripts too
    assert {card["id"] for card in listing["data"]} == {
        "all-MiniLM-L6-v2",
        "text-embedding-ada-002",
    }
    status = {entry["name"]: entry for entry in listing["not_served"]}
    assert status["chat"]["status"] == "skipped" and "embeddings: true" in status["chat"]["reason"]
    assert status["whisper"]["status"] == "skipped" and "whisper" in status["whisper"]["reason"]
    assert status["bert"]["status"] == "failed"
    assert "ragprep models convert" in status["bert"]["reason"]
