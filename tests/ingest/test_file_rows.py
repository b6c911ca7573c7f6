"""The server-less rows engines like Ray compute equal the local engine's (no Ray needed)."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.errors import InvalidRequest, NotFound
from app.ingest.file_rows import EMPTY_FILE, NO_TEXT, NOT_TEXT, FileEmbedder
from app.ingest.walk import find_files
from tests.conftest import MODELS
from tests.ingest.conftest import LocalRun


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileEmbedder]:
    settings = Settings(storage_dir=tmp_path_factory.mktemp("unused"), models_dir=MODELS)
    files = FileEmbedder(settings, model=None, capacity=None, overlap=0)
    yield files
    files.close()


def test_rows_equal_the_local_engine_but_for_the_file_id(
    embedder: FileEmbedder, local_run: LocalRun
) -> None:
    lines = []
    for file in find_files([local_run.docs]):
        result = embedder.rows(file.path.read_bytes(), name=file.path.name, display=file.display)
        lines += [json.loads(line) for line in result.lines]
    expected = local_run.rows()
    assert len(lines) == len(expected)
    for row, line in zip(lines, expected, strict=True):
        assert row.pop("file_id") is None
        line.pop("file_id")
        vector, reference = np.asarray(row.pop("embedding")), np.asarray(line.pop("embedding"))
        assert np.max(np.abs(vector - reference)) < 1e-5
        assert row == line


def test_files_are_skipped_for_the_local_engine_reasons(embedder: FileEmbedder) -> None:
    def reason(data: bytes) -> str | None:
        return embedder.rows(data, name="x.txt", display="x.txt").skipped

    assert [reason(b""), reason(b" \n\t"), reason(b"\x89PNG\x00\x01")] == [
        EMPTY_FILE,
        NO_TEXT,
        NOT_TEXT,
    ]


def test_bad_chunk_sizes_are_refused_up_front(tmp_path: Path) -> None:
    settings = Settings(storage_dir=tmp_path, models_dir=MODELS)
    with pytest.raises(InvalidRequest, match="chunk_capacity"):
        FileEmbedder(settings, model=None, capacity=10**9, overlap=0)


@pytest.fixture
def two_models(tmp_path: Path) -> Path:
    """The default model and a copy of its file served as `other` (a bare GGUF, not a twin)."""
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(MODELS / "all-MiniLM-L6-v2.yaml", models)
    (models / "all-MiniLM-L6-v2.gguf").symlink_to((MODELS / "all-MiniLM-L6-v2.gguf").resolve())
    shutil.copy(MODELS / "all-MiniLM-L6-v2.gguf", models / "other.gguf")
    return models


@pytest.mark.parametrize("name", ["other", None])
def test_only_the_model_used_is_loaded(
    tmp_path: Path, two_models: Path, caplog: pytest.LogCaptureFixture, name: str | None
) -> None:
    """An ingest run (or a Ray actor) embeds with one model: it must not load every model."""
    settings = Settings(
        storage_dir=tmp_path / "unused", models_dir=two_models, prepare_default_model=False
    )
    with caplog.at_level(logging.INFO, logger="app.engine.catalog"):
        files = FileEmbedder(settings, model=name, capacity=None, overlap=0)
    try:
        loaded = [r.getMessage().split()[1] for r in caplog.records if r.msg.startswith("loaded")]
        assert loaded == [files.model.name] == [name or "all-MiniLM-L6-v2"]
        assert files.rows(b"Paris is in France.", name="p.txt", display="p.txt").lines
    finally:
        files.close()


def test_an_unknown_model_is_refused_before_loading(tmp_path: Path, two_models: Path) -> None:
    settings = Settings(
        storage_dir=tmp_path / "unused", models_dir=two_models, prepare_default_model=False
    )
    with pytest.raises(NotFound, match="'nope' does not exist; available: "):
        FileEmbedder(settings, model="nope", capacity=None, overlap=0)
