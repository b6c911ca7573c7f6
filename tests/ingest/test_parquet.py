"""`ragprep ingest -o out.parquet`: the JSONL rows as typed columns, written in row groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.cli import main
from app.ingest import parquet
from tests.ingest.conftest import LocalRun


def test_parquet_reads_back_equal_to_the_jsonl(
    local_run: LocalRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 4)  # several row groups from a small corpus
    out = tmp_path / "out.parquet"
    args = ["ingest", str(local_run.docs), "-o", str(out), *local_run.storage_args()]
    assert main(args) == 0

    expected = local_run.rows()
    table = pq.read_table(out)
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), 384)
    assert pq.ParquetFile(out).num_row_groups == -(-len(expected) // 4)
    rows = table.to_pylist()
    assert len(rows) == len(expected) > 4
    assert any(row["headings"] for row in rows)  # the Markdown file's sections came through
    for row, line in zip(rows, expected, strict=True):
        # Pages and headings too: null/empty where the format has none, the path in Markdown.
        vector, reference = row.pop("embedding"), line.pop("embedding")
        assert row == line
        assert np.array_equal(np.float32(vector), np.float32(reference))
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]  # no temp file left


def test_a_failed_parquet_write_leaves_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous run")
    with parquet.open_parquet(out) as output:
        output.write([])
        # no commit: an interrupted or failed run
    assert out.read_bytes() == b"previous run"
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_an_empty_run_still_writes_a_readable_table(tmp_path: Path) -> None:
    out = tmp_path / "empty.parquet"
    with parquet.open_parquet(out) as output:
        output.commit()
    table = pq.read_table(out)
    assert table.num_rows == 0 and "embedding" in table.schema.names
