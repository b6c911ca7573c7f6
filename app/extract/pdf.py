"""PDF text per page with PDFium (pypdfium2). Not thread-safe: only ever call it in a worker."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from app.errors import UnprocessableDocument
from app.extract.base import Document, ExtractLimits, Heading, TextBudget, corrupt_document
from app.extract.furniture import drop_running_lines
from app.extract.ocr import pgm, read_pages
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
# Fewer printed characters than this is no text layer (a scan with a stamped page number, a
# fax header); such a page is read by OCR when it has an image.
_USABLE_CHARS = 20
_MAX_PIXELS = 40_000_000
# A running head is set off from the text by a few line heights (about 4 in Texinfo and LaTeX);
# lines of text, headings included, by less than one or two.
_MARGIN_GAP = 1.5


def extract_pdf(data: bytes, *, filename: str, limits: ExtractLimits | None = None) -> Document:
    """The PDF's text per page; pages without a text layer are read by OCR (limits.ocr)."""
    limits = limits or ExtractLimits()
    deadline = time.monotonic() + limits.seconds
    pdf = _open(data, filename=filename)
    budget = TextBudget(limits, filename)
    try:
        pages = [_page_lines(pdf, i, budget) for i in range(len(pdf))]
        scanned = [i for i, lines in enumerate(pages) if _is_scanned(pdf, i, lines)]
        if scanned and limits.ocr.enabled:
            images = (_render(pdf, i, limits.ocr.dpi) for i in scanned)
            read = read_pages(images, limits.ocr, filename=filename, deadline=deadline)
            for index, text in zip(scanned, read, strict=True):
                pages[index] = budget.take(text).splitlines()
        pages = drop_running_lines(pages, _Margins(pdf).holds)
        text, spans = join_pages(with_paragraph_breaks(lines) for lines in pages)
        if not text.strip():
            raise _no_text(filename, ocr_read=bool(scanned) and limits.ocr.enabled)
        headings = list(_outline(pdf, text, spans))
    finally:
        pdf.close()
    headings.sort(key=lambda heading: heading.start)
    ocr_pages = [i + 1 for i in scanned] if limits.ocr.enabled else []
    return Document(
        text, False, "application/pdf", pages=spans, headings=headings, ocr_pages=ocr_pages
    )


def _no_text(filename: str, *, ocr_read: bool) -> UnprocessableDocument:
    if ocr_read:
        what = "has no text layer, and OCR found no text in its images"
    else:
        what = (
            "has no text layer (a scanned or image-only PDF) and OCR is off (RAGPREP_OCR=false) "
            "or found no page image to read: upload a PDF with selectable text"
        )
    return _error(filename, what, "no_text_layer")


def _is_scanned(pdf: pdfium.PdfDocument, index: int, lines: list[str]) -> bool:
    """No usable text layer (a few stray characters at most) but an image to read."""
    if sum(len(line.strip()) for line in lines) >= _USABLE_CHARS:
        return False
    page = pdf[index]
    try:
        images = page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))
        return next(iter(images), None) is not None
    finally:
        page.close()


def _render(pdf: pdfium.PdfDocument, index: int, dpi: int) -> bytes:
    """The page as a greyscale PGM at `dpi`, less for pages so large they would exceed
    _MAX_PIXELS (a poster at 300 dpi is hundreds of megapixels; text stays readable)."""
    page = pdf[index]
    try:
        width, height = page.get_size()  # in points, 1/72 inch
        scale = min(dpi / 72, (_MAX_PIXELS / max(1.0, width * height)) ** 0.5)
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            return pgm(bitmap.width, bitmap.height, bitmap.stride, bitmap.buffer)
        finally:
            bitmap.close()
    finally:
        page.close()


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


class _Margins:
    """The text standing apart at the top and the bottom of a page, where running heads and
    page numbers are printed: the highest and lowest line of text (text rectangles on one
    level), when a gap of more than _MARGIN_GAP line heights parts it from the rest. Worked
    out only for the few pages whose edge lines carry a page number."""

    def __init__(self, pdf: pdfium.PdfDocument) -> None:
        self._pdf = pdf
        self._cache: dict[int, tuple[str, ...]] = {}

    def holds(self, index: int, line: str) -> bool:
        if index not in self._cache:
            self._cache[index] = self._margin_texts(index)
        return _squeeze(line) in self._cache[index]

    def _margin_texts(self, index: int) -> tuple[str, ...]:
        page = self._pdf[index]
        try:
            textpage = page.get_textpage()
            try:
                bands = _bands([textpage.get_rect(i) for i in range(textpage.count_rects())])
                if len(bands) < 2:
                    return ()
                texts = []
                for band, neighbour in ((bands[0], bands[1]), (bands[-1], bands[-2])):
                    gap = max(band[1] - neighbour[3], neighbour[1] - band[3])
                    if gap > _MARGIN_GAP * (band[3] - band[1]):
                        ordered = sorted(band[4], key=lambda rect: rect[0])
                        texts.append(
                            _squeeze(" ".join(textpage.get_text_bounded(*r) for r in ordered))
                        )
                return tuple(texts)
            finally:
                textpage.close()
        finally:
            page.close()


_Rect = tuple[float, float, float, float]
_Band = tuple[float, float, float, float, list[_Rect]]  # left, bottom, right, top, its rects


def _bands(rects: list[_Rect]) -> list[_Band]:
    """Text rectangles grouped into lines by vertical position, top of the page first."""
    bands: list[_Band] = []
    for rect in sorted(rects, key=lambda r: -r[3]):
        middle = (rect[1] + rect[3]) / 2
        if bands and bands[-1][1] <= middle <= bands[-1][3]:
            left, bottom, right, top, members = bands[-1]
            members.append(rect)
            bands[-1] = (min(left, rect[0]), bottom, max(right, rect[2]), top, members)
        else:
            bands.append((rect[0], rect[1], rect[2], rect[3], [rect]))
    return bands


def _squeeze(text: str) -> str:
    return "".join(_HARD_HYPHEN_MARKS.sub("-", text).split()).lower()


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
    return UnprocessableDocument(f"File {filename!r} {what}", subject="file", code=code)
