"""One upload: multipart stream → temp file in storage/, hashed and size-checked on the way."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import anyio

from app.api.uploads.multipart import MultipartStream, PartData, PartEnd, PartStart, boundary_of
from app.errors import InsufficientStorage, InvalidRequest, PayloadTooLarge
from app.observability.metrics import Metrics
from app.services.filenames import clean_filename
from app.services.files import StagedFile

MAX_FIELD_BYTES = 1024
# What a body may hold beyond the file itself: boundaries, part headers, a few small fields
# (MAX_PARTS of MAX_FIELD_BYTES and their headers fit many times over) and a short epilogue.
# Every byte read counts, the epilogue after the closing boundary included.
MULTIPART_OVERHEAD = 64 * 1024
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
# 'file' and 'purpose' are all we read; a few more are tolerated, endless ones are not.
MAX_PARTS = 16
FLUSH_BYTES = 1024 * 1024


@dataclass
class ReceivedUpload:
    staged: StagedFile
    fields: dict[str, str]


@dataclass
class _BlobWriter:
    """Buffers part data and writes it from a worker thread, so the event loop never blocks."""

    path: Path
    limit: int
    size: int = 0
    _buffer: bytearray = field(default_factory=bytearray)
    _hash: hashlib._Hash = field(default_factory=hashlib.sha256)
    _fd: int | None = None

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise PayloadTooLarge(
                f"File is larger than the {self.limit}-byte limit", subject="upload"
            )
        self._buffer.extend(data)
        if len(self._buffer) >= FLUSH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        data, self._buffer = bytes(self._buffer), bytearray()
        await anyio.to_thread.run_sync(self._write_sync, data)

    def _write_sync(self, data: bytes) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._hash.update(data)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    async def close(self) -> str:
        await self.flush()
        await anyio.to_thread.run_sync(self._close_sync)
        return self._hash.hexdigest()

    def _close_sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)  # the blob must be durable before its row is committed
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.path.unlink(missing_ok=True)


@dataclass
class _UploadState:
    writer: _BlobWriter
    filename: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    current: str | None = None
    field_value: bytearray = field(default_factory=bytearray)
    parts: int = 0

    async def handle(self, event: PartStart | PartData | PartEnd) -> None:
        if isinstance(event, PartStart):
            self._start(event)
        elif isinstance(event, PartData):
            await self._data(event.data)
        elif self.current is not None and self.current != "file":
            self.fields[self.current] = self.field_value.decode("utf-8", errors="replace")
            self.field_value.clear()
            self.current = None

    def _start(self, event: PartStart) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InvalidRequest(f"At most {MAX_PARTS} form fields are allowed", subject="upload")
        if event.name == "file":
            if self.filename is not None:
                raise InvalidRequest("Only one 'file' part is allowed", subject="upload")
            self.filename = clean_filename(event.filename)
        self.current = event.name

    async def _data(self, data: bytes) -> None:
        if self.current == "file":
            await self.writer.write(data)
        elif self.current is not None:
            self.field_value.extend(data)
            if len(self.field_value) > MAX_FIELD_BYTES:
                raise InvalidRequest(
                    f"Form field '{self.current}' is too long", subject=self.current
                )


async def _counted(
    body: AsyncIterator[bytes], *, limit: int, metrics: Metrics | None
) -> AsyncIterator[bytes]:
    """The body's chunks, stopped with a 413 once more than `limit` bytes were read."""
    seen = 0
    async for chunk in body:
        seen += len(chunk)
        if metrics is not None:
            metrics.upload_bytes.inc(len(chunk))
        if seen > limit:
            raise PayloadTooLarge(
                f"Request body is larger than the upload limit ({limit} bytes with framing)",
                subject="upload",
            )
        yield chunk


async def receive_upload(
    *,
    content_type: str,
    body: AsyncIterator[bytes],
    uploads_dir: Path,
    limit: int,
    metrics: Metrics | None = None,
) -> ReceivedUpload:
    """Stream a multipart body to a temp file; the caller moves it into place or discards it."""
    stream = MultipartStream(boundary_of(content_type))
    state = _UploadState(_BlobWriter(uploads_dir / f"{uuid4().hex}.part", limit))
    counted = _counted(body, limit=limit + MULTIPART_OVERHEAD, metrics=metrics)
    try:
        async for chunk in counted:
            for event in stream.feed(chunk):
                await state.handle(event)
        for event in stream.finish():
            await state.handle(event)
        if state.filename is None:
            raise InvalidRequest("Missing multipart field 'file'", subject="upload")
        if state.writer.size == 0:
            raise InvalidRequest("The uploaded file is empty", subject="upload", code="empty_file")
        digest = await state.writer.close()
    except OSError as exc:
        state.writer.discard()
        if exc.errno in _DISK_FULL:
            raise InsufficientStorage(
                "The server ran out of storage space while saving the upload; nothing was "
                "stored. Retry later or ask the operator to free space.",
                subject="upload",
            ) from exc
        raise
    except BaseException:
        state.writer.discard()
        raise
    staged = StagedFile(
        temp_path=state.writer.path, filename=state.filename, size=state.writer.size, sha256=digest
    )
    return ReceivedUpload(staged=staged, fields=state.fields)
