"""The file store: blobs on disk under storage/, metadata rows in SQLite, kept in step."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from uuid import uuid4

import anyio
from sqlalchemy import delete, exists, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import end_read
from app.db.tables import DocumentRow, FileRow, VectorStoreFileRow, VectorStoreRow
from app.errors import InvalidRequest, NotFound, PayloadTooLarge
from app.observability.metrics import Metrics
from app.services.filenames import clean_filename

log = logging.getLogger(__name__)

PURPOSES = frozenset(
    {"assistants", "batch", "fine-tune", "vision", "user_data", "evals", "embeddings"}
)
DEFAULT_PURPOSE = "assistants"


@dataclass(frozen=True)
class StagedFile:
    """A file's bytes written to a temporary path under storage/uploads, checked and hashed."""

    temp_path: Path
    filename: str
    size: int
    sha256: str


@dataclass(frozen=True)
class FilePage:
    rows: Sequence[FileRow]
    has_more: bool


class FileStore:
    """Owns storage/files (one blob per file id) and storage/uploads (uploads in progress)."""

    def __init__(
        self,
        *,
        blobs_dir: Path,
        uploads_dir: Path,
        max_upload_bytes: int,
        metrics: Metrics | None = None,
        orphan_grace: float = 0.0,
    ) -> None:
        self.metrics = metrics
        self.blobs_dir = blobs_dir
        self.uploads_dir = uploads_dir
        self.max_upload_bytes = max_upload_bytes
        # Start-up sweeps only leftovers untouched this many seconds: 0 when this process owns
        # the storage dir; more when replicas share it, whose uploads in flight keep writing
        # (fresh mtime) and whose blobs are renamed into place just before their row commits.
        self.orphan_grace = orphan_grace

    def blob_path(self, file_id: str) -> Path:
        return self.blobs_dir / file_id

    def prepare(self) -> None:
        """Create the directories and drop leftovers of uploads a crash interrupted."""
        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self._stale(self.uploads_dir):
            log.info("removing interrupted upload %s", leftover.name)
            leftover.unlink(missing_ok=True)

    async def sweep_orphans(self, *, session: AsyncSession) -> None:
        """Remove blobs whose row never committed (a crash between rename and commit)."""
        known = set((await session.scalars(select(FileRow.id))).all())
        for blob in self._stale(self.blobs_dir):
            if blob.name not in known:
                log.info("removing orphaned blob %s", blob.name)
                blob.unlink(missing_ok=True)

    def _stale(self, folder: Path) -> list[Path]:
        """Entries of `folder` not modified within the grace period."""
        if self.orphan_grace <= 0:
            return list(folder.iterdir())
        cutoff = time.time() - self.orphan_grace
        stale: list[Path] = []
        for entry in folder.iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    stale.append(entry)
            except FileNotFoundError:  # another replica finished or removed it meanwhile
                continue
        return stale

    async def add_staged(
        self, *, session: AsyncSession, staged: StagedFile, purpose: str | None
    ) -> FileRow:
        """Store a staged file under a new id (its temporary path is gone afterwards)."""
        try:
            return await self._commit(session=session, received=staged, purpose=_purpose(purpose))
        finally:
            staged.temp_path.unlink(missing_ok=True)

    async def add_bytes(
        self, *, session: AsyncSession, filename: str, data: bytes, purpose: str | None = None
    ) -> FileRow:
        """Store `data` as a file named `filename` (cleaned as an upload's name is)."""
        if len(data) > self.max_upload_bytes:
            raise PayloadTooLarge(
                f"File is larger than the {self.max_upload_bytes}-byte limit", subject="upload"
            )
        if not data:
            raise InvalidRequest("The uploaded file is empty", subject="upload", code="empty_file")
        staged = await anyio.to_thread.run_sync(self._stage, filename, data)
        return await self.add_staged(session=session, staged=staged, purpose=purpose)

    def _stage(self, filename: str, data: bytes) -> StagedFile:
        path = self.uploads_dir / f"{uuid4().hex}.part"
        path.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        return StagedFile(path, clean_filename(filename), len(data), digest)

    async def _commit(
        self, *, session: AsyncSession, received: StagedFile, purpose: str
    ) -> FileRow:
        now = time.time_ns()
        row = FileRow(
            id=f"file_{uuid4().hex}",
            filename=received.filename,
            purpose=purpose,
            bytes=received.size,
            sha256=received.sha256,
            created_at=now // 1_000_000_000,
            created_ns=now,
        )
        session.add(row)
        await session.flush()
        target = self.blob_path(row.id)
        await anyio.to_thread.run_sync(os.replace, received.temp_path, target)
        try:
            # Shielded: a commit under way must finish and report, or a request cancelled
            # mid-commit could unlink the blob of a row that did commit.
            with anyio.CancelScope(shield=True):
                await session.commit()
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return row

    async def get(self, *, session: AsyncSession, file_id: str) -> FileRow:
        row = await session.get(FileRow, file_id)
        if row is None:
            raise NotFound(f"No such file: '{file_id}'", subject="file")
        return row

    async def list(
        self,
        *,
        session: AsyncSession,
        purpose: str | None,
        limit: int,
        sha256: str | None = None,
        order: Literal["asc", "desc"],
        after: str | None,
    ) -> FilePage:
        key = tuple_(FileRow.created_ns, FileRow.id)
        query = select(FileRow)
        if purpose is not None:
            query = query.where(FileRow.purpose == purpose)
        if sha256 is not None:
            query = query.where(FileRow.sha256 == sha256.lower())
        if after is not None:
            cursor = await session.get(FileRow, after)
            if cursor is None:
                raise InvalidRequest(f"No such file for 'after': '{after}'", subject="after")
            bound = tuple_(cursor.created_ns, cursor.id)
            query = query.where(key > bound if order == "asc" else key < bound)
        ordering = (FileRow.created_ns, FileRow.id)
        if order == "desc":
            query = query.order_by(*(c.desc() for c in ordering))
        else:
            query = query.order_by(*ordering)
        rows = (await session.scalars(query.limit(limit + 1))).all()
        return FilePage(rows=rows[:limit], has_more=len(rows) > limit)

    async def delete(self, *, session: AsyncSession, file_id: str) -> None:
        """Row first, then blob: a reader that finds the row has already opened or will find 404."""
        row = await self.get(session=session, file_id=file_id)
        sha256 = row.sha256
        await end_read(session)
        # Vector stores holding the file lose its chunks (cascade): their in-memory indexes
        # (dense and BM25) reload.
        await session.execute(
            update(VectorStoreRow)
            .where(
                VectorStoreRow.id.in_(
                    select(VectorStoreFileRow.store_id).where(VectorStoreFileRow.file_id == file_id)
                )
            )
            .values(index_version=VectorStoreRow.index_version + 1)
        )
        result = await session.execute(delete(FileRow).where(FileRow.id == file_id))
        # Its extracted document goes with the last file holding that content.
        content_used = exists().where(FileRow.sha256 == sha256)
        await session.execute(
            delete(DocumentRow).where(DocumentRow.sha256 == sha256, ~content_used)
        )
        await session.commit()
        if result.rowcount == 0:  # type: ignore[attr-defined]  # a concurrent delete won
            raise NotFound(f"No such file: '{file_id}'", subject="file")
        await anyio.to_thread.run_sync(self._unlink, file_id)

    def _unlink(self, file_id: str) -> None:
        self.blob_path(file_id).unlink(missing_ok=True)

    async def read_bytes(self, *, file_id: str) -> bytes:
        try:
            return await anyio.Path(self.blob_path(file_id)).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(f"No such file: '{file_id}'", subject="file") from exc


def _purpose(raw: str | None) -> str:
    purpose = (raw or DEFAULT_PURPOSE).strip()
    if purpose not in PURPOSES:
        allowed = ", ".join(sorted(PURPOSES))
        raise InvalidRequest(
            f"Invalid purpose '{purpose}'; expected one of: {allowed}", subject="purpose"
        )
    return purpose
