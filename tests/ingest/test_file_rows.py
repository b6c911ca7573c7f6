"""The server-less rows engines like Ray compute equal the local engine's (no Ray needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.errors import InvalidRequest
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
