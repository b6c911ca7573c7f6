"""One entry point for the parsers that run in the worker process."""

from __future__ import annotations

from app.extract.base import Document, ExtractLimits, check_text_size
from app.extract.detect import Kind
from app.extract.docx import extract_docx
from app.extract.epub import extract_epub
from app.extract.html import extract_html
from app.extract.image import extract_image
from app.extract.odt import extract_odt
from app.extract.pdf import extract_pdf
from app.extract.pptx import extract_pptx


def parse(kind: Kind, data: bytes, *, filename: str, limits: ExtractLimits) -> Document:
    """The document, its text within limits.max_chars (the parsers with a document-stated
    repeat also count as they build; this check is every format's backstop)."""
    return check_text_size(_parse(kind, data, filename, limits), filename, limits)


def _parse(kind: Kind, data: bytes, filename: str, limits: ExtractLimits) -> Document:
    if kind is Kind.PDF:
        return extract_pdf(data, filename=filename, limits=limits)
    if kind.is_image:
        return extract_image(data, media_type=kind.value, filename=filename, limits=limits)
    if kind is Kind.HTML:
        return extract_html(data, filename=filename, limits=limits)
    if kind is Kind.DOCX:
        return extract_docx(data, filename=filename, limits=limits)
    if kind is Kind.PPTX:
        return extract_pptx(data, filename=filename, limits=limits)
    if kind is Kind.ODT:
        return extract_odt(data, filename=filename, limits=limits)
    if kind is Kind.EPUB:
        return extract_epub(data, filename=filename, limits=limits)
    # Text and Markdown never come here: extract_with decodes them in the caller's thread.
    raise ValueError(f"no worker parser for {kind.value}")
