"""Word documents: mammoth turns the styles into semantic HTML, then the HTML path to Markdown.

mammoth maps Word's Heading 1-6 styles to <h1>-<h6>, keeps nested lists and tables, and drops
layout noise; the container is checked by zipguard before mammoth opens it.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from typing import Any
from xml.parsers import expat

import mammoth

from app.extract.base import Document, ExtractLimits, TextBudget, corrupt_document
from app.extract.html import html_to_markdown_text, markdown_document
from app.extract.zipguard import check_archive

log = logging.getLogger(__name__)
# Beyond mammoth's defaults (Heading 1-6, lists, tables): the styles Word and pandoc use for a
# document's title and for quotations.
STYLE_MAP = """
p[style-name='Title'] => h1:fresh
p[style-name='Subtitle'] => p:fresh
p[style-name='Quote'] => blockquote > p:fresh
p[style-name='Intense Quote'] => blockquote > p:fresh
p[style-name='Block Text'] => blockquote > p:fresh
"""
# mammoth's footnote and endnote lists end each note with a link back to its marker.
_BACK_LINK = re.compile(r' ?<a href="#(?:footnote|endnote)-ref-[^"]*">\u2191</a>')
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Word's text runs, <w:t>, in the transitional and the strict namespace, as expat names them.
_TEXT_TAGS = {
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main t",
    "http://purl.oclc.org/ooxml/wordprocessingml/main t",
}
_READ = 1 << 20


def _no_image(_: Any) -> dict[str, str]:
    # Images carry no text; mammoth would otherwise inline every one as a base64 data URI.
    return {}


def extract_docx(data: bytes, *, filename: str, limits: ExtractLimits) -> Document:
    check_archive(data, filename=filename, max_unpacked_bytes=limits.max_unpacked_bytes)
    budget = TextBudget(limits, filename)
    charge_text_runs(data, budget)
    try:
        result = mammoth.convert_to_html(
            io.BytesIO(data),
            convert_image=mammoth.images.img_element(_no_image),
            external_file_access=False,
            style_map=STYLE_MAP,
        )
    except Exception as exc:  # mammoth raises many kinds on malformed parts; all mean "corrupt"
        log.info("mammoth could not read %r: %r", filename, exc)
        raise corrupt_document(
            filename,
            "is a damaged Word document (its parts cannot be read); "
            "open and re-save it in a word processor, then upload it again",
        ) from exc
    body = _BACK_LINK.sub("", result.value)
    markdown = html_to_markdown_text(f"<html><body>{body}</body></html>", budget)
    return markdown_document(markdown, media_type=MEDIA_TYPE, filename=filename)


def charge_text_runs(data: bytes, budget: TextBudget) -> None:
    """Charge `budget` with the text of every <w:t> in the package, streamed, before mammoth
    builds anything: 256 MiB of zip-guarded XML is 256 M characters of text, which mammoth and
    the converter would hold several times over. Every part is read, whatever its name
    (relationships may point the main document anywhere); parts that are not XML stop early."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            with archive.open(member) as stream:
                _charge_part(stream, budget)


def _charge_part(stream: Any, budget: TextBudget) -> None:
    parser = expat.ParserCreate(namespace_separator=" ")
    depth = 0  # open <w:t> elements

    def start(name: str, _: Any) -> None:
        nonlocal depth
        depth += name in _TEXT_TAGS

    def end(name: str) -> None:
        nonlocal depth
        depth -= name in _TEXT_TAGS

    def text(chunk: str) -> None:
        if depth > 0:
            budget.charge(len(chunk))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        while block := stream.read(_READ):
            parser.Parse(block, False)
        parser.Parse(b"", True)
    except expat.ExpatError:
        return  # not XML (an image, say): mammoth reads no text from it
