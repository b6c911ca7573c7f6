"""ZIP containers (DOCX, EPUB) checked before any parser opens them: size and XML entities.

A zip bomb inflates a few megabytes to gigabytes. The declared sizes are checked first (cheap);
then every part (whatever its name: any may be what a parser reads) is inflated in small reads
against a running total, which keeps memory flat and stops as soon as the limit is passed.
zipfile never inflates past a member's declared size (a lying header ends in a CRC error, a
corrupt document), so the running total is the backstop, not the first line.

An XML part with a DOCTYPE could declare entities that expand exponentially ("billion laughs")
or point outside the file; Office never writes one, so any DOCTYPE or ENTITY declaration is
refused before an XML parser sees it.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from app.errors import DocumentTooLarge, UnprocessableDocument
from app.extract.base import corrupt_document

_READ = 1 << 20
# XHTML chapters (EPUB) and SVG images legitimately start with a DOCTYPE; an entity can only be
# declared inside a DOCTYPE, so refusing <!ENTITY there is enough. Every other part is checked
# for both, whatever its name: relationships may point a parser at any part ("word/main.bin").
_DOCTYPE_SUFFIXES = (".xhtml", ".html", ".htm", ".svg")
_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be")
_XML_MARKERS = tuple(m.encode(e) for m in ("<!DOCTYPE", "<!ENTITY") for e in _ENCODINGS)
_HTML_MARKERS = tuple(m.encode(e) for m in ("<!ENTITY",) for e in _ENCODINGS)
_OVERLAP = max(len(marker) for marker in _XML_MARKERS) - 1


def check_archive(data: bytes, *, filename: str, max_unpacked_bytes: int) -> None:
    """Raise DocumentTooLarge, or UnprocessableDocument for corrupt or unsafe content."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            _check_declared(members, filename, max_unpacked_bytes)
            total = 0
            for member in members:
                markers = _markers(member.filename)
                total = _inflate(archive, member, markers, total, filename, max_unpacked_bytes)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        raise corrupt_document(
            filename,
            f"is a damaged document (its ZIP container is corrupt: {exc}); upload an intact copy",
        ) from exc


def _check_declared(members: list[zipfile.ZipInfo], filename: str, limit: int) -> None:
    declared = sum(member.file_size for member in members)
    if declared > limit:
        raise _too_large(filename, limit)


def _markers(name: str) -> tuple[bytes, ...]:
    """What to refuse in a member: a DOCTYPE or an entity, or in (X)HTML and SVG an entity."""
    return _HTML_MARKERS if name.lower().endswith(_DOCTYPE_SUFFIXES) else _XML_MARKERS


def _inflate(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    markers: tuple[bytes, ...],
    total: int,
    filename: str,
    limit: int,
) -> int:
    tail = b""
    with archive.open(member) as stream:
        while block := stream.read(_READ):
            total += len(block)
            if total > limit:
                raise _too_large(filename, limit)
            window = tail + block
            if any(marker in window for marker in markers):
                raise UnprocessableDocument(
                    f"File {filename!r} has an XML part ({member.filename}) declaring a "
                    "DOCTYPE or entities, which Office documents and e-books never need; "
                    "refusing to expand them. Re-save it and upload it again",
                    subject="file",
                    code="unsafe_document",
                )
            tail = window[-_OVERLAP:]
    return total


def _too_large(filename: str, limit: int) -> DocumentTooLarge:
    return DocumentTooLarge(
        f"File {filename!r} unpacks to more than {limit // (1 << 20)} MiB (a ZIP bomb or an "
        "unusually large document); split it into smaller files",
        subject="file",
    )
