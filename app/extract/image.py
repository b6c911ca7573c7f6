"""Image files (PNG, JPEG, TIFF) as documents: OCR'd, one page per frame (multi-page TIFF)."""

from __future__ import annotations

import time

from app.errors import UnprocessableDocument
from app.extract.base import Document, ExtractLimits
from app.extract.furniture import drop_running_lines
from app.extract.ocr import read_frames
from app.extract.paragraphs import with_paragraph_breaks
from app.extract.text import join_pages


def extract_image(
    data: bytes, *, media_type: str, filename: str, limits: ExtractLimits
) -> Document:
    deadline = time.monotonic() + limits.seconds
    frames = read_frames(data, limits.ocr, filename=filename, deadline=deadline)
    pages = drop_running_lines([frame.splitlines() for frame in frames])
    text, spans = join_pages(with_paragraph_breaks(lines) for lines in pages)
    if not text.strip():
        raise UnprocessableDocument(
            f"File {filename!r} is an image in which OCR found no text",
            subject="file",
            code="empty_document",
        )
    return Document(text, False, media_type, pages=spans, ocr_pages=list(range(1, len(spans) + 1)))
