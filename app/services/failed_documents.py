"""Failed extractions, remembered in the database by the document's bytes and the limits.

A hostile document held an extraction worker for 50 s per post (issue 24). Its failure is kept
in the failed_documents table, so the same bytes posted again answer the same 4xx at once: on
any replica sharing the database, and after a restart. Only what the document's own bytes cause
is kept (not a missing blob or a full disk), keyed by the limits it failed under: raising a
limit lets it try again. The oldest rows go once there are more than `size`. A timeout also
depends on how busy the machine was, so it is answered from memory for an hour only, then the
document is tried again.
"""

from __future__ import annotations

import hashlib
import time
from typing import Protocol

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import end_read
from app.db.tables import FailedDocumentRow
from app.errors import (
    DocumentTooLarge,
    PayloadTooLarge,
    ServiceError,
    UnprocessableDocument,
    UnsupportedMedia,
)
from app.extract.base import ExtractLimits

# What a document's own bytes cause, so the same bytes fail alike again; rebuilt by name.
DOCUMENT_ERRORS = (UnprocessableDocument, DocumentTooLarge, PayloadTooLarge, UnsupportedMedia)
_BY_NAME: dict[str, type[ServiceError]] = {cls.__name__: cls for cls in DOCUMENT_ERRORS}
_LOAD_DEPENDENT = {"extraction_timeout"}
LOAD_DEPENDENT_NS = 3600 * 10**9  # how long a timeout is answered from memory


class DocumentKey(Protocol):
    """What is known of the file: its name and what its Document depends on."""

    @property
    def filename(self) -> str: ...

    @property
    def document_key(self) -> tuple[str, str, str]: ...


def limits_digest(limits: ExtractLimits) -> str:
    """The limits a failure happened under, as a key: a frozen dataclass's repr is stable."""
    return hashlib.sha256(repr(limits).encode()).hexdigest()


class FailedDocuments:
    def __init__(self, *, size: int, limits: ExtractLimits) -> None:
        self._size = size
        self._limits = limits_digest(limits)

    def _key(self, file: DocumentKey) -> tuple[str, str, str, str]:
        return (*file.document_key, self._limits)

    def _matches(self, file: DocumentKey) -> list[ColumnElement[bool]]:
        sha256, suffix, extractor, limits = self._key(file)
        return [
            FailedDocumentRow.sha256 == sha256,
            FailedDocumentRow.suffix == suffix,
            FailedDocumentRow.extractor == extractor,
            FailedDocumentRow.limits == limits,
        ]

    async def raise_if_known(self, session: AsyncSession, file: DocumentKey) -> None:
        """The remembered error, naming this file; nothing when the bytes never failed."""
        if self._size <= 0:
            return
        row = await session.get(FailedDocumentRow, self._key(file))
        await end_read(session)
        if row is None or row.error not in _BY_NAME:
            return
        if row.code in _LOAD_DEPENDENT and time.time_ns() - row.created_ns > LOAD_DEPENDENT_NS:
            # Stale: extract again and remember the new outcome. A statement, not
            # session.delete: another replica may have removed it first.
            stale = FailedDocumentRow.created_ns == row.created_ns
            await session.execute(delete(FailedDocumentRow).where(*self._matches(file), stale))
            await session.commit()
            return
        # The same answer, naming this file: messages quote the name they were raised for.
        message = row.message.replace(repr(row.filename), repr(file.filename))
        raise _BY_NAME[row.error](message, param=row.param, code=row.code)

    async def remember(self, session: AsyncSession, file: DocumentKey, error: ServiceError) -> None:
        if self._size <= 0:
            return
        sha256, suffix, extractor, limits = self._key(file)
        session.add(
            FailedDocumentRow(
                sha256=sha256,
                suffix=suffix,
                extractor=extractor,
                limits=limits,
                error=type(error).__name__,
                code=error.code,
                param=error.param,
                message=error.message,
                filename=file.filename,
                created_ns=time.time_ns(),
            )
        )
        try:
            await session.commit()
        except IntegrityError:  # another request or replica remembered it first
            await session.rollback()
            return
        await self._trim(session)

    async def _trim(self, session: AsyncSession) -> None:
        """Keep the newest `size` rows: one bounded delete, below the size-th newest row."""
        newest = (
            select(FailedDocumentRow.created_ns)
            .order_by(FailedDocumentRow.created_ns.desc())
            .offset(self._size - 1)
            .limit(1)
            .scalar_subquery()
        )
        older = FailedDocumentRow.created_ns < newest
        await session.execute(delete(FailedDocumentRow).where(older))
        await session.commit()
