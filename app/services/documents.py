"""Extracted documents: a file's bytes are parsed once per content hash and extractor version."""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass

import anyio
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.session import end_read
from app.db.tables import DocumentRow, FileRow
from app.extract import EXTRACTOR_VERSION, Extractor, extract_with
from app.extract.base import Document, ExtractLimits, Heading, OcrOptions
from app.observability.metrics import Metrics
from app.services.concurrency.single_flight import SingleFlight
from app.services.failed_documents import DOCUMENT_ERRORS, FailedDocuments
from app.services.files import FileStore


@dataclass(frozen=True, slots=True)
class FileRef:
    """What extraction and chunking need of a file row, safe to read after any rollback."""

    id: str
    filename: str
    sha256: str

    @classmethod
    def of(cls, row: FileRow) -> FileRef:
        return cls(id=row.id, filename=row.filename, sha256=row.sha256)

    @property
    def document_key(self) -> tuple[str, str, str]:
        """What the extracted Document depends on: the bytes, the name's suffix (type detection
        reads it: `.md` is Markdown, `.txt` the same bytes as text) and the extractor."""
        name = self.filename.lower()
        suffix = name.rsplit(".", 1)[1] if "." in name else ""
        return self.sha256, suffix[:255], EXTRACTOR_VERSION


class DocumentStore:
    """Reads stored Documents; extracts (off the event loop, once per key at a time) and stores
    the ones missing. A failed extraction stores nothing."""

    def __init__(
        self,
        *,
        files: FileStore,
        extractor: Extractor,
        limits: ExtractLimits,
        metrics: Metrics | None = None,
        failures: int = 1024,
    ) -> None:
        self.files = files
        self.metrics = metrics
        self.extractor = extractor
        self.limits = limits
        self.extractions = 0  # documents parsed by this process (observability, tests)
        self._flights: SingleFlight[Document] = SingleFlight()
        self._failed = FailedDocuments(size=failures, limits=limits)

    async def get(self, *, session: AsyncSession, file: FileRef) -> Document:
        """The file's Document; raises the extractor's 4xx for files it cannot extract."""
        ticket = self._flights.ticket()
        stored = await self._stored(session, file)
        if stored is not None:
            return stored
        await self._failed.raise_if_known(session, file)
        return await self._flights.run(
            file.document_key,
            lambda: self._extract(session, file),
            lookup=lambda: self._stored(session, file),
            since=ticket,
        )

    async def _stored(self, session: AsyncSession, file: FileRef) -> Document | None:
        row = await session.get(DocumentRow, file.document_key)
        await end_read(session)  # no connection held while extracting
        document = None if row is None else _document(row)
        if document is not None and document.ocr_pages and not self.limits.ocr.enabled:
            return None  # read by OCR when it was on: extract again, to refuse it as now
        return document

    async def _extract(self, session: AsyncSession, file: FileRef) -> Document:
        data = await self.files.read_bytes(file_id=file.id)
        parse = functools.partial(
            extract_with, self.extractor, data, filename=file.filename, limits=self.limits
        )
        started = time.perf_counter()
        try:
            document = await anyio.to_thread.run_sync(parse)
        except DOCUMENT_ERRORS as exc:
            await self._failed.remember(session, file, exc)
            raise
        finally:
            self.extractions += 1
        if self.metrics is not None:
            elapsed = time.perf_counter() - started
            self.metrics.extraction_seconds.labels(_format(document)).observe(elapsed)
        session.add(_row(file, document))
        try:
            await session.commit()
        except IntegrityError:  # another process stored the same document first
            await session.rollback()
        return document


def _row(file: FileRef, document: Document) -> DocumentRow:
    sha256, suffix, extractor = file.document_key
    return DocumentRow(
        sha256=sha256,
        suffix=suffix,
        extractor=extractor,
        media_type=document.media_type,
        markdown=document.markdown,
        text=document.text,
        pages=json.dumps(document.pages),
        headings=json.dumps([[h.start, h.level, h.title] for h in document.headings]),
        ocr_pages=json.dumps(document.ocr_pages),
        created_ns=time.time_ns(),
    )


def _document(row: DocumentRow) -> Document:
    return Document(
        text=row.text,
        markdown=row.markdown,
        media_type=row.media_type,
        pages=[(start, end) for start, end in json.loads(row.pages)],
        headings=[Heading(start, level, title) for start, level, title in json.loads(row.headings)],
        ocr_pages=json.loads(row.ocr_pages),
    )


def _format(document: Document) -> str:
    """A short label for the metrics: pdf, html, markdown, plain, ...; never one per file."""
    subtype = document.media_type.partition("/")[2] or document.media_type
    return subtype.rsplit(".", 1)[-1].removeprefix("x-")[:32]


def extract_limits(settings: Settings) -> ExtractLimits:
    """The per-document bounds every extraction runs under, server and ingest engines alike."""
    ocr = OcrOptions(
        enabled=settings.ocr,
        dpi=settings.ocr_dpi,
        languages=settings.ocr_languages,
        threads=settings.ocr_threads,
    )
    return ExtractLimits(
        seconds=settings.extract_timeout,
        max_unpacked_bytes=settings.extract_max_unpacked_bytes,
        ocr=ocr,
        max_chars=settings.extracted_chars_limit,
    )
