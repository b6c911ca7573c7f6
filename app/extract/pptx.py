"""PowerPoint (PPTX): one page per slide, the slide's title a heading, its text as Markdown.

The slide order is the presentation's slide list (ppt/presentation.xml and its relationships),
not the file names. Each shape's paragraphs become lines (indented by their outline level), a
table becomes a Markdown table. Speaker notes are not included. The standard library's
ElementTree parses the parts once zipguard has checked sizes and refused any DOCTYPE.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterator
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

from app.errors import UnprocessableDocument
from app.extract.base import (
    MAX_LEVEL,
    Document,
    ExtractLimits,
    Heading,
    TextBudget,
    corrupt_document,
)
from app.extract.text import join_pages, markdown_table
from app.extract.zipguard import check_archive

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_TITLES = {"title", "ctrTitle"}


def extract_pptx(data: bytes, *, filename: str, limits: ExtractLimits) -> Document:
    check_archive(data, filename=filename, max_unpacked_bytes=limits.max_unpacked_bytes)
    budget = TextBudget(limits, filename)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        # A slide listed again is read once: PowerPoint never repeats one, and a 3 KB file
        # listing one slide 20,000 times held the worker at its memory cap.
        paths = dict.fromkeys(_slide_paths(archive, filename))
        slides = [_slide(_parse(archive, path, filename), budget) for path in paths]
    text, pages = join_pages(
        "\n\n".join(part for part in (f"# {title}" if title else "", body) if part)
        for title, body in slides
    )
    headings = [
        Heading(start, 1, title)
        for (title, _), (start, _) in zip(slides, pages, strict=True)
        if title
    ]
    if not text.strip():
        raise UnprocessableDocument(
            f"File {filename!r} contains no text to chunk (its slides hold only pictures)",
            subject="file",
            code="empty_document",
        )
    return Document(text, True, MEDIA_TYPE, pages=pages, headings=headings)


def _parse(archive: zipfile.ZipFile, path: str, filename: str) -> Element:
    try:
        return ElementTree.fromstring(archive.read(path))
    except (KeyError, ElementTree.ParseError) as exc:
        raise _corrupt(filename) from exc


def _slide_paths(archive: zipfile.ZipFile, filename: str) -> Iterator[str]:
    presentation = _parse(archive, "ppt/presentation.xml", filename)
    relations = _parse(archive, "ppt/_rels/presentation.xml.rels", filename)
    targets = {
        rel.get("Id"): rel.get("Target") or "" for rel in relations.iter(f"{_REL}Relationship")
    }
    for slide in presentation.iter(f"{_P}sldId"):
        target = targets.get(slide.get(f"{_R}id"))
        if not target:
            raise _corrupt(filename)
        # Targets are relative to ppt/, or absolute within the package.
        base = "" if target.startswith("/") else "ppt"
        yield posixpath.normpath(posixpath.join(base, target.lstrip("/")))


def _slide(root: Element, budget: TextBudget) -> tuple[str, str]:
    """The slide's title and the rest of its text as Markdown."""
    title = ""
    blocks: list[str] = []
    for shape in root.iter():
        if shape.tag == f"{_P}sp":
            placeholder = shape.find(f"{_P}nvSpPr/{_P}nvPr/{_P}ph")
            lines = list(_paragraphs(shape, budget))
            if placeholder is not None and placeholder.get("type") in _TITLES and not title:
                title = " ".join(" ".join(lines).split())
            elif lines:
                blocks.append("\n".join(lines))
        elif shape.tag == f"{_A}tbl":
            blocks.append(_table(shape, budget))
    return title, "\n\n".join(block for block in blocks if block.strip())


def _paragraphs(shape: Element, budget: TextBudget) -> Iterator[str]:
    for paragraph in shape.iter(f"{_A}p"):
        text = "".join(
            budget.take(node.text or "") if node.tag == f"{_A}t" else "\n"
            for node in paragraph.iter()
            if node.tag in (f"{_A}t", f"{_A}br")
        ).strip()
        if text:
            properties = paragraph.find(f"{_A}pPr")
            level = _level(properties.get("lvl", "0")) if properties is not None else 0
            yield budget.take("  " * level) + text


def _level(value: str) -> int:
    """A paragraph's outline level, clamped to PowerPoint's 0..8 (a hostile file said 5*10**7)."""
    try:
        return max(0, min(int(value), MAX_LEVEL))
    except ValueError:
        return 0


def _table(table: Element, budget: TextBudget) -> str:
    rows = [[_cell(cell, budget) for cell in row.iter(f"{_A}tc")] for row in table.iter(f"{_A}tr")]
    return markdown_table(rows, budget)


def _cell(cell: Element, budget: TextBudget) -> str:
    text = " ".join("".join(budget.take(t.text or "") for t in cell.iter(f"{_A}t")).split())
    return text.replace("|", "\\|")


def _corrupt(filename: str) -> UnprocessableDocument:
    return corrupt_document(
        filename,
        "is a damaged presentation (its slide list or slides cannot be read); "
        "open and re-save it, then upload it again",
    )
