"""What a file is, from its bytes first and its name second."""

from __future__ import annotations

import enum
import io
import re
import zipfile
import zlib

from app.errors import UnprocessableDocument
from app.extract.base import corrupt_document
from app.extract.text import bom_split, is_markdown, not_supported

_HTML_SUFFIXES = (".html", ".htm", ".xhtml")
# PDF readers accept the header anywhere in the first KiB (some generators prepend junk).
_PDF_MAGIC_WINDOW = 1024
_MIMETYPE_BYTES = 100
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_HTML_START = re.compile(
    r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]",
    re.IGNORECASE | re.DOTALL,
)
# Images read by OCR, one page per frame.
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
# Binary formats we know and refuse, so that they are never mistaken for text.
_BINARY_MAGIC = (
    b"\x89PNG",
    b"GIF8",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"Rar!",
    b"\xd0\xcf\x11\xe0",  # OLE2: legacy .doc/.xls, also password-protected OOXML
    b"\x7fELF",
    b"%!PS",
)


class Kind(enum.Enum):
    PDF = "application/pdf"
    HTML = "text/html"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    EPUB = "application/epub+zip"
    PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    ODT = "application/vnd.oasis.opendocument.text"
    PNG = "image/png"
    JPEG = "image/jpeg"
    TIFF = "image/tiff"
    MARKDOWN = "text/markdown"
    TEXT = "text/plain"

    @property
    def is_image(self) -> bool:
        return self in (Kind.PNG, Kind.JPEG, Kind.TIFF)


def detect(data: bytes, *, filename: str) -> Kind:
    """The document kind; raises UnsupportedMedia for formats we cannot extract."""
    if _is_pdf(data, filename):
        return Kind.PDF
    if data.startswith(_ZIP_MAGIC):
        return _zip_kind(data, filename=filename)
    for magic, name in _IMAGE_MAGIC:
        if data.startswith(magic):
            return Kind[name]
    if data.startswith(_BINARY_MAGIC):
        if data.startswith(b"\xd0\xcf\x11\xe0") and filename.lower().endswith(".docx"):
            raise UnprocessableDocument(
                f"File {filename!r} is an encrypted (password-protected) Word document; "
                "save it without a password and upload it again",
                subject="file",
                code="encrypted_document",
            )
        raise not_supported(filename)
    body, encoding = bom_split(data[:4096])
    if _HTML_START.match(
        body.decode(encoding or "latin-1", errors="ignore")
    ) or filename.lower().endswith(_HTML_SUFFIXES):
        return Kind.HTML
    return Kind.MARKDOWN if is_markdown(filename) else Kind.TEXT


def _is_pdf(data: bytes, filename: str) -> bool:
    """The header first, or after junk that is not text (a text about PDFs is not a PDF)."""
    header = data.find(b"%PDF-", 0, _PDF_MAGIC_WINDOW)
    if header <= 0:
        return header == 0
    if filename.lower().endswith(".pdf"):
        return True
    try:
        prefix = data[:header].decode("utf-8")
    except UnicodeDecodeError:
        return True
    return "\x00" in prefix


def _zip_kind(data: bytes, *, filename: str) -> Kind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            # ODF's first member names the type (a few dozen bytes; read no more than that).
            with archive.open("mimetype") if "mimetype" in names else io.BytesIO() as member:
                mimetype = member.read(_MIMETYPE_BYTES).strip()
    except (zipfile.BadZipFile, ValueError, EOFError, zlib.error) as exc:
        raise corrupt_document(
            filename, "is a damaged ZIP container (truncated or corrupt); upload an intact copy"
        ) from exc
    if "word/document.xml" in names:
        return Kind.DOCX
    if "ppt/presentation.xml" in names:
        return Kind.PPTX
    if mimetype == Kind.ODT.value.encode() and "content.xml" in names:
        return Kind.ODT
    if "META-INF/container.xml" in names:
        return Kind.EPUB
    raise not_supported(filename)
