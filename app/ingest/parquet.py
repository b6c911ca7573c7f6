"""The Parquet output (`-o out.parquet`): the JSONL record's fields as typed columns, the vector
as a fixed-size list of float32, which is what vector-database bulk loaders read.

Written a row group at a time, never the whole run in memory; like the JSONL, under a temp
name and renamed into place only by `commit`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

# ~4096 chunks of a 384-dimension model: a few MiB of vectors plus text per row group.
ROW_GROUP_ROWS = 4096

SCALARS: dict[str, pa.DataType] = {
    "file_id": pa.string(),  # null from engines that store no files (--engine ray)
    "filename": pa.string(),
    "path": pa.string(),
    "chunk_index": pa.int32(),
    "start": pa.int64(),
    "end": pa.int64(),
    # Nullable: only for formats that have them (pages of PDFs, headings of Markdown).
    "pages": pa.list_(pa.int32()),
    "headings": pa.list_(pa.string()),
    "ocr_pages": pa.list_(pa.int32()),  # those of `pages` read by OCR
    "tokens": pa.int32(),
    "text": pa.string(),
    "model": pa.string(),
}


def schema(dimensions: int | None) -> pa.Schema:
    """The columns; `embedding` is fixed-size once the first vector tells its dimensions."""
    vector = pa.float32()
    embedding = pa.list_(vector) if dimensions is None else pa.list_(vector, dimensions)
    fields = [pa.field(name, kind) for name, kind in SCALARS.items()]
    return pa.schema([*fields, pa.field("embedding", embedding)])


class ParquetOutput:
    """Takes the same JSONL lines as the JSONL output, so every engine can write either."""

    def __init__(self, temp: Path, target: Path) -> None:
        self._temp = temp
        self._target = target
        self._writer: pq.ParquetWriter | None = None
        self._rows: list[dict[str, Any]] = []

    def write(self, lines: list[str]) -> None:
        self._rows.extend(json.loads(line) for line in lines)
        while len(self._rows) >= ROW_GROUP_ROWS:
            self._write_group(self._rows[:ROW_GROUP_ROWS])
            del self._rows[:ROW_GROUP_ROWS]

    def _write_group(self, rows: list[dict[str, Any]]) -> None:
        if self._writer is None:
            dimensions = len(rows[0]["embedding"])
            self._writer = pq.ParquetWriter(self._temp, schema(dimensions), compression="zstd")
        columns = {name: [row.get(name) for row in rows] for name in self._writer.schema.names}
        self._writer.write_table(pa.table(columns, schema=self._writer.schema))

    def commit(self) -> None:
        if self._rows:
            self._write_group(self._rows)
            self._rows = []
        if self._writer is None:  # no chunks at all: still a valid, empty table
            self._writer = pq.ParquetWriter(self._temp, schema(None))
        self._writer.close()
        with self._temp.open("rb") as written:
            os.fsync(written.fileno())  # the rename must not publish data still in flight
        os.replace(self._temp, self._target)

    def close(self) -> None:
        if self._writer is not None and self._writer.is_open:
            self._writer.close()


@contextmanager
def open_parquet(path: Path) -> Iterator[ParquetOutput]:
    """Without `commit`, the temp file is removed and an existing `path` is left as it was."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.touch(exist_ok=False)  # fails now, before any work, if the folder is not writable
    output = ParquetOutput(temp, path)
    try:
        yield output
    finally:
        output.close()
        temp.unlink(missing_ok=True)
