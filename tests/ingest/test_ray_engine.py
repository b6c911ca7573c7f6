"""`ragprep ingest --engine ray`: a Ray Data pipeline writes the local engine's rows."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from app.cli import main
from tests.conftest import MODELS
from tests.ingest.conftest import LocalRun

pytest.importorskip(
    "ray", reason="ray is not installed: pip install 'ragprep[ray]' (make test does)"
)


@pytest.fixture(autouse=True)
def local_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """A local Ray instance started by the command, not a cluster the environment names."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


def test_ray_output_equals_the_local_output(local_run: LocalRun, tmp_path: Path) -> None:
    out = tmp_path / "ray.parquet"  # Parquet here; the JSONL path is the same rows as text
    args = ["ingest", str(local_run.docs), "-o", str(out), "--engine", "ray"]
    assert main([*args, *local_run.storage_args()]) == 0

    expected = local_run.rows()
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == len(expected) > 1
    for row, line in zip(rows, expected, strict=True):
        # Ray stores no files on a server, so there is no file id; every other field is equal.
        assert row.pop("file_id") is None and line.pop("file_id").startswith("file_")
        vector, reference = np.asarray(row.pop("embedding")), np.asarray(line.pop("embedding"))
        assert np.max(np.abs(vector - reference)) < 1e-5
        assert row == line  # pages and headings included
    assert any(row["headings"] for row in rows)  # the Markdown file's sections came through


def test_ray_reports_usage_errors_before_starting(local_run: LocalRun, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    args = ["ingest", str(local_run.docs), "-o", str(out), "--engine", "ray"]
    assert main([*args, "--model", "no-such-model", *local_run.storage_args()]) == 2
    assert main([*args, "--server", "http://127.0.0.1:9", *local_run.storage_args()]) == 2
    assert not out.exists()


def _names_corpus(root: Path) -> Path:
    """A file whose name is not UTF-8 and a link to a file outside the folder, named apart."""
    docs, elsewhere = root / "docs", root / "elsewhere"
    docs.mkdir()
    elsewhere.mkdir()
    latin1 = os.fsdecode(b"caf\xe9 notes.txt")  # surrogate escapes in Python
    (docs / latin1).write_text("A cafe in Paris serves coffee and croissants all morning.\n")
    target = elsewhere / "target.txt"
    target.write_text("The Seine flows through Paris past the Louvre and Notre-Dame.\n")
    (docs / "linked.txt").symlink_to(target)
    return docs


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_ray_names_files_as_the_local_engine(
    default_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # paths shown relative to it, as a user runs the command
    docs = _names_corpus(tmp_path)
    # The link leads out of the folder, which ingest follows only when asked to.
    where = [
        *("--storage-dir", str(tmp_path / "storage"), "--models-dir", str(MODELS)),
        "--follow-symlinks",
    ]
    assert main(["ingest", str(docs), "-o", str(tmp_path / "local.jsonl"), *where]) == 0
    args = ["ingest", str(docs), "-o", str(tmp_path / "ray.jsonl"), "--engine", "ray"]
    assert main([*args, *where]) == 0

    local, ray = _jsonl(tmp_path / "local.jsonl"), _jsonl(tmp_path / "ray.jsonl")
    # The link keeps its own name, as the local engine uploads it; the undecodable byte is shown
    # as U+FFFD in both engines.
    assert {row["filename"] for row in local} == {"caf\ufffd notes.txt", "linked.txt"}
    assert len(ray) == len(local)
    for row, line in zip(ray, local, strict=True):
        assert row.pop("file_id") is None and line.pop("file_id").startswith("file_")
        vector, reference = np.asarray(row.pop("embedding")), np.asarray(line.pop("embedding"))
        assert np.max(np.abs(vector - reference)) < 1e-5
        assert row == line


def test_ray_fails_a_huge_file_on_its_size_unread(
    default_gguf: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Ray's reader took whole files with no size check; the local engine refuses them unread.
    monkeypatch.setenv("RAGPREP_MAX_UPLOAD_BYTES", "4096")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "paris.txt").write_text("The Seine flows through Paris past the Louvre.\n")
    with open(docs / "huge.txt", "wb") as huge:  # sparse: 100 MB that take no disk
        huge.truncate(100 * 1000 * 1000)
    out = tmp_path / "ray.jsonl"
    where = ["--storage-dir", str(tmp_path / "storage"), "--models-dir", str(MODELS)]
    caplog.set_level(logging.INFO, logger="ragprep")
    assert main(["ingest", str(docs), "-o", str(out), "--engine", "ray", *where]) == 1
    assert "huge.txt: larger than the upload limit (100,000,000 bytes" in caplog.text
    assert "RAGPREP_MAX_UPLOAD_BYTES is 4,096" in caplog.text
    assert "1 failed" in caplog.text
