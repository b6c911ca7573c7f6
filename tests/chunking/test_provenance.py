"""Pages and section paths of chunks, from a Document's spans."""

from __future__ import annotations

import dataclasses

import pytest

from app.chunking.provenance import Locator, Provenance
from app.extract.base import Document, Heading

# Three pages joined by blank lines: page 1 is [0, 10), page 2 [12, 22), page 3 [24, 30).
PAGED = Document(
    text="a" * 10 + "\n\n" + "b" * 10 + "\n\n" + "c" * 6,
    markdown=False,
    media_type="application/pdf",
    pages=[(0, 10), (12, 22), (24, 30)],
)


@pytest.mark.parametrize(
    ("start", "end", "pages"),
    [
        (0, 10, (1, 1)),
        (0, 11, (1, 1)),  # ends in the gap after page 1
        (9, 13, (1, 2)),
        (10, 22, (2, 2)),  # starts in the gap: the next page
        (11, 30, (2, 3)),
        (29, 30, (3, 3)),
        (0, 30, (1, 3)),
    ],
)
def test_pages_are_first_and_last_page_touched(
    start: int, end: int, pages: tuple[int, int]
) -> None:
    assert Locator(PAGED).locate(start, end).pages == pages


@pytest.mark.parametrize(
    ("start", "end", "ocr_pages"),
    [(0, 10, ()), (9, 13, (2,)), (11, 30, (2, 3)), (29, 30, (3,))],
)
def test_ocr_pages_are_those_of_the_chunks_pages_that_ocr_read(
    start: int, end: int, ocr_pages: tuple[int, ...]
) -> None:
    scanned = dataclasses.replace(PAGED, ocr_pages=[3, 2])
    assert Locator(scanned).locate(start, end).ocr_pages == ocr_pages
    assert Locator(PAGED).locate(start, end).ocr_pages == ()


def test_unpaged_documents_have_no_pages() -> None:
    document = Document(text="plain text", markdown=False, media_type="text/plain")
    assert Locator(document).locate(0, 5) == Provenance(pages=None, headings=())


TEXT = "intro " * 10 + "x" * 200
HEADINGS = [
    Heading(60, 1, "1 Guide"),
    Heading(80, 2, "1.1 Install"),
    Heading(100, 3, "1.1.1 Linux"),
    Heading(120, 2, "1.2 Usage"),
    Heading(140, 1, "2 Reference"),
    Heading(160, 3, "2.0.1 Deep, no level 2 above"),
]
STRUCTURED = Document(text=TEXT, markdown=True, media_type="text/markdown", headings=HEADINGS)


@pytest.mark.parametrize(
    ("start", "end", "path"),
    [
        (0, 30, ()),  # before any heading and not reaching one
        (0, 70, ("1 Guide",)),  # starts before the first heading: takes the one it contains
        (60, 70, ("1 Guide",)),  # starts exactly at a heading: inside its section
        (85, 130, ("1 Guide", "1.1 Install")),  # the section at the start, not later ones
        (100, 110, ("1 Guide", "1.1 Install", "1.1.1 Linux")),
        (125, 200, ("1 Guide", "1.2 Usage")),  # a level-2 sibling closes the level-3 section
        (145, 150, ("2 Reference",)),  # a new top level closes everything
        (170, 200, ("2 Reference", "2.0.1 Deep, no level 2 above")),
    ],
)
def test_heading_path_is_the_section_stack_at_the_chunk_start(
    start: int, end: int, path: tuple[str, ...]
) -> None:
    assert Locator(STRUCTURED).locate(start, end).headings == path
