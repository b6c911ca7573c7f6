"""Word documents: mammoth turns the styles into semantic HTML, then the HTML path to Markdown.

mammoth maps Word's Heading 1-6 styles to <h1>-<h6>, keeps nested lists and tables, and drops
layout noise; the container is checked by zipguard before mammoth opens it.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import mammoth

from app.extract.base import Document, ExtractLimits, corrupt_document
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


def _no_image(_: Any) -> dict[str, str]:
    # Images carry no text; mammoth would otherwise inline every one as a base64 data URI.
    return {}


def extract_docx(data: bytes, *, filename: str, limits: ExtractLimits) -> Document:
    check_archive(data, filename=filename, max_unpacked_bytes=limits.max_unpacked_bytes)
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
    markdown = html_to_markdown_text(f"<html><body>{body}</body></html>")
    return markdown_document(markdown, media_type=MEDIA_TYPE, filename=filename)
