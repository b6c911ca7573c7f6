"""PDF text per page with PDFium (pypdfium2). Not thread-safe: only ever call it in a worker."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from app.errors import UnprocessableDocument
from app.extract.base import Document, ExtractLimits, Heading, TextBudget, corrupt_document
from app.extract.furniture import drop_running_lines
from app.extract.paragraphs import with_paragraph_breaks
from app.extract.text import join_pages

# PDFium marks a hyphen it judged a line-end hyphenation with \x02 (\ufffe in some calls) and
# has already joined the lines. Before a lower-case letter it is taken as a word broken by
# hyphenation and joined; before anything else ("Anti-Circumvention", "COVID-19") it was a
# real hyphen and stays. A hyphen character left at a line end before a lower-case letter is
# the same thing written as U+2010 or U+00AD (soft hyphen).
_HYPHEN_MARKS = re.compile("[\x02\ufffe](?=[a-z\u00df-\u00ff])")
_HARD_HYPHEN_MARKS = re.compile("[\x02\ufffe]")
_LINE_END_HYPHEN = re.compile("[\u00ad\u2010]\n(?=[a-z\u00df-\u00ff])")
# Other control characters would only confuse the tokenizer.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def extract_pdf(data: bytes, *, filename: str, limits: ExtractLimits) -> Document:
    pdf = _open(data, filename=filename)
    budget = TextBudget(limits, filename)
    try:
        pages = drop_running_lines([_page_lines(pdf, i, budget) for i in range(len(pdf))])
        text, spans = join_pages(with_paragraph_breaks(lines) for lines in pages)
        if not text.strip():
            raise _error(
                filename,
                "has no text layer (a scanned or image-only PDF; OCR is not supported): "
                "upload a PDF with selectable text",
                "no_text_layer",
            )
        headings = list(_outline(pdf, text, spans))
    finally:
        pdf.close()
    headings.sort(key=lambda heading: heading.start)
    return Document(text, False, "application/pdf", pages=spans, headings=headings)


def _open(data: bytes, *, filename: str) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise _error(
                filename,
                "is encrypted (password-protected); upload it without a password",
                "encrypted_document",
            ) from exc
        raise corrupt_document(
            filename, "is a damaged PDF (truncated or corrupt); upload an intact copy"
        ) from exc


def _page_lines(pdf: pdfium.PdfDocument, index: int, budget: TextBudget) -> list[str]:
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            raw = textpage.get_text_bounded()
        finally:
            textpage.close()
    finally:
        page.close()
    text = budget.take(raw).replace("\r\n", "\n").replace("\r", "\n")
    text = _HARD_HYPHEN_MARKS.sub("-", _HYPHEN_MARKS.sub("", text))
    text = _LINE_END_HYPHEN.sub("", text)
    return _CONTROL.sub("", text).split("\n")


def _outline(pdf: pdfium.PdfDocument, text: str, spans: list[tuple[int, int]]) -> Iterator[Heading]:
    """Bookmarks become headings, placed where their title appears on their page."""
    searched_from: dict[int, int] = {}
    for bookmark in pdf.get_toc():
        title = " ".join((bookmark.get_title() or "").split())
        dest = bookmark.get_dest()
        index = dest.get_index() if dest is not None else None
        if not title or index is None or not 0 <= index < len(spans):
            continue
        start, end = spans[index]
        origin = searched_from.get(index, start)
        position = _find_title(title, text, origin, end)
        searched_from[index] = position
        yield Heading(position, bookmark.level + 1, title)


def _find_title(title: str, text: str, start: int, end: int) -> int:
    """Where `title` starts in text[start:end]: as a line of its own, else anywhere, else start."""
    words = r"\s+".join(re.escape(word) for word in title.split())
    for pattern in (rf"(?m)^[ \t]*({words})[ \t]*$", f"({words})"):
        found = re.compile(pattern, re.IGNORECASE).search(text, start, end)
        if found:
            return found.start(1)
    return start


def _error(filename: str, what: str, code: str) -> UnprocessableDocument:
    return UnprocessableDocument(f"File {filename!r} {what}", param="id", code=code)
