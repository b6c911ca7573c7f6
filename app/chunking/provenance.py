"""Where a chunk comes from: its pages and its section path, from the Document's spans."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from app.extract.base import Document, Heading


@dataclass(frozen=True, slots=True)
class Provenance:
    pages: tuple[int, int] | None  # [first, last], 1-based; None for unpaged formats
    headings: tuple[str, ...]  # section path, outermost first; () before any heading
    ocr_pages: tuple[int, ...] = ()  # those of `pages` that OCR read


class Locator:
    """Answers `locate(start, end)` in O(log n) per chunk, after one pass over the spans."""

    def __init__(self, document: Document) -> None:
        self._page_starts = [start for start, _ in document.pages]
        self._page_ends = [end for _, end in document.pages]
        self._heading_starts = [heading.start for heading in document.headings]
        self._paths = _section_paths(document.headings)
        self._ocr_pages = sorted(set(document.ocr_pages))

    def locate(self, start: int, end: int) -> Provenance:
        pages = self._pages(start, end)
        ocr_pages: tuple[int, ...] = ()
        if pages is not None and self._ocr_pages:
            first, last = pages
            ocr_pages = tuple(page for page in self._ocr_pages if first <= page <= last)
        return Provenance(pages=pages, headings=self._headings(start, end), ocr_pages=ocr_pages)

    def _pages(self, start: int, end: int) -> tuple[int, int] | None:
        if not self._page_ends:
            return None
        last_page = len(self._page_ends)
        # A chunk starting in the gap between two pages starts on the next one; one ending in
        # a gap ends on the page before it.
        first = min(bisect_right(self._page_ends, start), last_page - 1)
        last = max(bisect_left(self._page_starts, end) - 1, first)
        return first + 1, last + 1

    def _headings(self, start: int, end: int) -> tuple[str, ...]:
        """The sections enclosing the chunk's start; a chunk that starts before the first
        heading but contains it takes that heading's path (its text leads into the section)."""
        at = bisect_right(self._heading_starts, start) - 1
        if at >= 0:
            return self._paths[at]
        if self._heading_starts and self._heading_starts[0] < end:
            return self._paths[0]
        return ()


def _section_paths(headings: list[Heading]) -> list[tuple[str, ...]]:
    """For each heading, the titles of the sections it is nested in, then its own."""
    stack: list[Heading] = []
    paths: list[tuple[str, ...]] = []
    for heading in headings:
        while stack and stack[-1].level >= heading.level:
            stack.pop()
        stack.append(heading)
        paths.append(tuple(h.title for h in stack))
    return paths
