"""EPUB: the spine's XHTML chapters, in reading order, through the HTML path to Markdown.

An EPUB is a ZIP (checked by zipguard first) whose META-INF/container.xml names the package
document (OPF); its manifest maps ids to files and its spine orders them. The standard library's
ElementTree parses those two small files once zipguard has refused any DOCTYPE in them.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterator
from urllib.parse import unquote
from xml.etree import ElementTree

from app.errors import UnprocessableDocument
from app.extract.base import Document, ExtractLimits, TextBudget, corrupt_document
from app.extract.html import decode_html, html_to_markdown_text, markdown_document
from app.extract.zipguard import check_archive

MEDIA_TYPE = "application/epub+zip"
_CONTAINER = "META-INF/container.xml"
_ENCRYPTION = "META-INF/encryption.xml"
_CHAPTER_TYPES = {"application/xhtml+xml", "text/html"}


def extract_epub(data: bytes, *, filename: str, limits: ExtractLimits) -> Document:
    check_archive(data, filename=filename, max_unpacked_bytes=limits.max_unpacked_bytes)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if _ENCRYPTION in archive.namelist():
            raise UnprocessableDocument(
                f"File {filename!r} is an encrypted (DRM-protected) e-book; upload a copy "
                "without DRM",
                param="id",
                code="encrypted_document",
            )
        budget = TextBudget(limits, filename)
        # A chapter listed again in the spine is read once: a 3.3 KB e-book listing a 1 MB
        # chapter 20,000 times held the worker at its memory cap for 50 s.
        chapters = [
            budget.take(html_to_markdown_text(decode_html(archive.read(path)), budget).strip())
            for path in dict.fromkeys(_spine(archive, filename))
        ]
    markdown = "\n\n".join(chapter for chapter in chapters if chapter) + "\n"
    return markdown_document(markdown, media_type=MEDIA_TYPE, filename=filename)


def _spine(archive: zipfile.ZipFile, filename: str) -> Iterator[str]:
    """The chapters' paths inside the archive, in reading order."""
    try:
        container = ElementTree.fromstring(archive.read(_CONTAINER))
        rootfile = next(e for e in container.iter() if _local(e.tag) == "rootfile")
        package_path = rootfile.attrib["full-path"]
        package = ElementTree.fromstring(archive.read(package_path))
    except (KeyError, StopIteration, ElementTree.ParseError) as exc:
        raise _corrupt(filename) from exc
    base = posixpath.dirname(package_path)
    manifest = {
        item.get("id"): item
        for item in package.iter()
        if _local(item.tag) == "item" and item.get("media-type") in _CHAPTER_TYPES
    }
    names = set(archive.namelist())
    for itemref in package.iter():
        item = manifest.get(itemref.get("idref")) if _local(itemref.tag) == "itemref" else None
        if item is None or "nav" in (item.get("properties") or "").split():
            continue
        path = posixpath.normpath(posixpath.join(base, unquote(item.get("href") or "")))
        if path not in names:
            raise _corrupt(filename)
        yield path


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _corrupt(filename: str) -> UnprocessableDocument:
    return corrupt_document(
        filename,
        "is a damaged e-book (its package files are missing or invalid); upload an intact copy",
    )
