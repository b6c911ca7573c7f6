"""Plain text and Markdown: decoding, and Markdown's headings (also used for HTML and DOCX)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable

from app.errors import UnsupportedMedia
from app.extract.base import Document, Heading, TextBudget

MARKDOWN_SUFFIXES = (".md", ".markdown")
# Between the pages of a paged document (PDF pages, slides): a paragraph break.
PAGE_SEPARATOR = "\n\n"

# Only encodings that announce themselves with a BOM are trusted; guessing legacy code pages
# would silently turn binary files into garbage text.
_BOM_ENCODINGS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# CommonMark: up to three spaces of indentation, 1-6 '#', then a space or the end of the line;
# a closing run of '#' preceded by a space is not part of the title.
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def decode_text(data: bytes, *, filename: str) -> str:
    """Decode UTF-8 (BOM optional) or UTF-16 with a BOM; the BOM is not part of the result.

    Raises UnsupportedMedia for anything else, including binary files that happen to decode.
    """
    body, encoding = bom_split(data)
    try:
        text = body.decode(encoding or "utf-8")
    except UnicodeDecodeError as exc:
        raise not_supported(filename) from exc
    # Valid UTF-8 with NULs is nearly always a binary format (images, archives, streams);
    # no text document needs them and they would poison the tokenizer and the database.
    if "\x00" in text:
        raise not_supported(filename)
    return text


def bom_split(data: bytes) -> tuple[bytes, str | None]:
    """The bytes after a Unicode BOM and the encoding it announces (None without one)."""
    for bom, encoding in _BOM_ENCODINGS:
        if data.startswith(bom):
            return data[len(bom) :], encoding
    return data, None


def is_markdown(filename: str) -> bool:
    return filename.lower().endswith(MARKDOWN_SUFFIXES)


def not_supported(filename: str) -> UnsupportedMedia:
    return UnsupportedMedia(
        f"File {filename!r} is not a supported document: upload PDF, HTML, DOCX, PPTX, ODT, EPUB, "
        "Markdown, UTF-8/UTF-16 text, or PNG/JPEG/TIFF images (with OCR on)",
        subject="file",
    )


def text_document(data: bytes, *, filename: str) -> Document:
    text = decode_text(data, filename=filename)
    if is_markdown(filename):
        return Document(text, True, "text/markdown", headings=markdown_headings(text))
    return Document(text, False, "text/plain")


def markdown_headings(text: str) -> list[Heading]:
    """ATX (`# Title`) and Setext (`Title` over `===`/`---`) headings, outside fenced code.

    `start` is the offset of the heading line itself, so the heading belongs to its section.
    """
    headings: list[Heading] = []
    fence: str | None = None
    offset = 0
    paragraph: tuple[int, list[str]] | None = None  # lines a Setext underline would claim
    for line in text.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        body = line.rstrip("\r\n")
        opening = _FENCE.match(body)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        atx = _ATX.match(body)
        setext = _SETEXT.match(body)
        if opening or atx or not body.strip():
            fence = opening.group(1) if opening else None
            if atx and (atx.group(2) or "").strip():
                headings.append(Heading(start, len(atx.group(1)), (atx.group(2) or "").strip()))
            paragraph = None
        elif setext and paragraph is not None:
            level = 1 if setext.group(1)[0] == "=" else 2
            headings.append(Heading(paragraph[0], level, " ".join(paragraph[1])))
            paragraph = None
        elif paragraph is not None:
            paragraph[1].append(body.strip())
        elif not body.startswith("    "):  # indented code cannot start a paragraph's title
            paragraph = (start, [body.strip()])
    return headings


def markdown_table(rows: list[list[str]], budget: TextBudget | None = None) -> str:
    """A pipe table of cell texts (already escaped), the first row as its header; short rows
    are padded so every row has the widest row's columns. No rows: no table.

    The padding is charged to `budget` before it is built: one wide row over many short ones
    would otherwise grow as rows times columns."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    if budget is not None:
        budget.charge((len(rows) + 1) * (3 * width + 4))
    lines = ["| " + " | ".join(row + [""] * (width - len(row))) + " |" for row in rows]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


def join_pages(pages: Iterable[str]) -> tuple[str, list[tuple[int, int]]]:
    """The pages (PDF pages, slides) joined by a blank line, with each page's (start, end) span
    in the joined text."""
    texts = list(pages)
    spans: list[tuple[int, int]] = []
    offset = 0
    for text in texts:
        spans.append((offset, offset + len(text)))
        offset += len(text) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(texts), spans
