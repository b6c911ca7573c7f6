"""OpenDocument text (ODT): content.xml walked into Markdown (headings, lists, tables, notes).

ODF marks structure explicitly (text:h with its outline level, text:list, table:table), so a
small walker over the standard library's ElementTree keeps it without a new dependency; the
container is checked by zipguard (sizes, no DOCTYPE) before the XML is parsed.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

from app.extract.base import MAX_REPEAT, Document, ExtractLimits, TextBudget, corrupt_document
from app.extract.html import markdown_document
from app.extract.text import markdown_table
from app.extract.zipguard import check_archive

MEDIA_TYPE = "application/vnd.oasis.opendocument.text"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_SKIPPED = {f"{_OFFICE}annotation", f"{_TEXT}bookmark-start", f"{_TEXT}bookmark-end"}
_TITLE_STYLES = {"Title"}


def extract_odt(data: bytes, *, filename: str, limits: ExtractLimits) -> Document:
    check_archive(data, filename=filename, max_unpacked_bytes=limits.max_unpacked_bytes)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            root = ElementTree.fromstring(archive.read("content.xml"))
    except (KeyError, ElementTree.ParseError) as exc:
        raise corrupt_document(
            filename,
            "is a damaged OpenDocument file (content.xml is missing or invalid); "
            "open and re-save it, then upload it again",
        ) from exc
    body = root.find(f"{_OFFICE}body/{_OFFICE}text")
    walker = _Walker(TextBudget(limits, filename))
    if body is not None:
        walker.blocks_of(body, depth=0)
    return markdown_document(walker.markdown(), media_type=MEDIA_TYPE, filename=filename)


class _Walker:
    def __init__(self, budget: TextBudget) -> None:
        self.budget = budget  # charged with every piece of text taken from the XML
        self.blocks: list[str] = []
        self.notes: list[str] = []

    def markdown(self) -> str:
        return "\n\n".join([*self.blocks, *self.notes]) + "\n"

    def blocks_of(self, element: Element, *, depth: int) -> None:
        for child in element:
            if child.tag == f"{_TEXT}h":
                level = min(int(child.get(f"{_TEXT}outline-level", "1")), 6)
                self._add("#" * level + " " + self.inline(child))
            elif child.tag == f"{_TEXT}p":
                title = child.get(f"{_TEXT}style-name") in _TITLE_STYLES
                self._add(("# " if title else "") + self.inline(child))
            elif child.tag == f"{_TEXT}list":
                self._add("\n".join(self._list(child, depth)))
            elif child.tag == f"{_TABLE}table":
                self._add(self._table(child))
            elif child.tag not in _SKIPPED:
                self.blocks_of(child, depth=depth)  # sections, frames, page breaks

    def _add(self, block: str) -> None:
        if block.strip(" #-|\n"):
            self.blocks.append(block)

    def _list(self, element: Element, depth: int) -> list[str]:
        lines: list[str] = []
        items = (c for c in element if c.tag in (f"{_TEXT}list-item", f"{_TEXT}list-header"))
        for item in items:
            for child in item:
                if child.tag == f"{_TEXT}list":
                    lines.extend(self._list(child, depth + 1))
                else:
                    lines.append("  " * depth + "- " + self.inline(child))
        return lines

    def _table(self, table: Element) -> str:
        rows = [
            [" ".join(self.inline(p) for p in cell).replace("|", "\\|") for cell in row]
            for row in table.iter(f"{_TABLE}table-row")
        ]
        return markdown_table(rows, self.budget)

    def inline(self, element: Element) -> str:
        take = self.budget.take
        parts = [take(element.text or "")]
        for child in element:
            if child.tag == f"{_TEXT}s":
                parts.append(take(" " * _repeat(child.get(f"{_TEXT}c", "1"))))
            elif child.tag == f"{_TEXT}tab":
                parts.append("\t")
            elif child.tag == f"{_TEXT}line-break":
                parts.append("\n")
            elif child.tag == f"{_TEXT}note":
                parts.append(self._note(child))
            elif child.tag not in _SKIPPED:
                parts.append(self.inline(child))
            parts.append(take(child.tail or ""))
        return "".join(parts).strip()

    def _note(self, note: Element) -> str:
        citation = note.findtext(f"{_TEXT}note-citation") or str(len(self.notes) + 1)
        body = note.find(f"{_TEXT}note-body")
        text = " ".join(self.inline(p) for p in body) if body is not None else ""
        self.notes.append(f"[{citation}] {text}")
        return f"[{citation}]"


def _repeat(count: str) -> int:
    """ODF's space count, clamped to 0..MAX_REPEAT (a hostile file asked for 10**8)."""
    try:
        return max(0, min(int(count), MAX_REPEAT))
    except ValueError:
        return 1
