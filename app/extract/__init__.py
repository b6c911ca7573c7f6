"""The extraction stage: a stored file's bytes become a Document (text, pages, headings).

The type comes from the content (magic bytes) before the name. Text and Markdown are decoded in
the caller's thread (linear in the size, no parser to go wrong); PDF, HTML and DOCX parsers run
in a worker process that the per-document time limit can kill (see worker.py).

Failures are domain errors about the subject "file" (app/errors.py): UnsupportedMedia
(`unsupported_media_type`), UnprocessableDocument (`encrypted_document`, `no_text_layer`,
`empty_document`, `corrupt_document`, `unsafe_document`, `extraction_timeout`) and
DocumentTooLarge (`document_too_large`). The route that was called names its own field for the
file ("id" on /v1/chunks, "file_id" elsewhere). Documents are stored by the file's sha256 and
EXTRACTOR_VERSION (app/services/documents.py), so a file is extracted once per version.
"""

from __future__ import annotations

import functools

from app.extract.base import Document, ExtractLimits, Heading, check_text_size
from app.extract.detect import Kind, detect
from app.extract.text import markdown_headings, not_supported, text_document
from app.extract.worker import Extractor

__all__ = [
    "EXTRACTOR_VERSION",
    "Document",
    "ExtractLimits",
    "Extractor",
    "Heading",
    "default_extractor",
    "extract",
    "extract_with",
    "markdown_headings",
]

# Part of the key of stored Documents: bump it whenever any format's output changes.
EXTRACTOR_VERSION = "2"  # 2: OCR of image pages; furniture by position


@functools.cache
def default_extractor() -> Extractor:
    """The process-wide worker pool that `extract` uses, started on first use."""
    return Extractor()


def extract(data: bytes, *, filename: str, limits: ExtractLimits) -> Document:
    """Extract `data` (named `filename`); raises typed domain errors for refused documents.

    Synchronous and blocking: call it from a worker thread, never on the event loop.
    """
    return extract_with(default_extractor(), data, filename=filename, limits=limits)


def extract_with(
    extractor: Extractor, data: bytes, *, filename: str, limits: ExtractLimits
) -> Document:
    kind = detect(data, filename=filename)
    if kind in (Kind.TEXT, Kind.MARKDOWN):
        return check_text_size(text_document(data, filename=filename), filename, limits)
    if kind.is_image and not limits.ocr.enabled:
        raise not_supported(filename)  # images are documents only through OCR
    return extractor.run(kind, data, filename=filename, limits=limits)
