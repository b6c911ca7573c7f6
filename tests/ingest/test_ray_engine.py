"""`ragprep ingest --engine ray`: a Ray Data pipeline writes the local engine's rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from app.cli import main
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
