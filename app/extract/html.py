"""HTML to Markdown (html-to-markdown, Rust): content only, no scripts, styles or navigation."""

from __future__ import annotations

import codecs
import re

import html_to_markdown

from app.errors import UnprocessableDocument
from app.extract.base import Document, ExtractLimits, TextBudget
from app.extract.markup_growth import markup_growth
from app.extract.text import bom_split, markdown_headings

# Page furniture that never belongs in a chunk. The converter's own preprocessing already drops a
# page-level <header> (while keeping an <article>'s); it takes simple selectors only, so every
# <footer> goes (an article's footer is bylines and share links too).
_BOILERPLATE = [
    "nav",
    "aside",
    "footer",
    "form",
    "[role=navigation]",
    "[role=banner]",
    "[role=contentinfo]",
    "[role=search]",
]
# A link to an anchor in the same page ("[3.2](#options)", footnote markers) says nothing a
# chunk can use: keep its text, drop the target.
_ANCHOR_LINK = re.compile(r"\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\(#[^()\s]*\)")
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_SNIFF_BYTES = 4096


def decode_html(data: bytes) -> str:
    """By BOM, then <meta charset>, then UTF-8, then windows-1252 (the web's legacy default)."""
    body, encoding = bom_split(data)
    if encoding is None:
        declared = _META_CHARSET.search(data[:_SNIFF_BYTES])
        encoding = _known_codec(declared.group(1).decode("ascii")) if declared else None
    if encoding is not None:
        return body.decode(encoding, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def _known_codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def html_to_markdown_text(html: str, budget: TextBudget) -> str:
    """The page as Markdown; refused first (DocumentTooLarge) when what its markup can add
    would take `budget` past its limit: the converter cannot be stopped once it runs."""
    budget.room_for(markup_growth(html, stop_above=budget.limit - budget.used))
    options = html_to_markdown.ConversionOptions(
        extract_metadata=False,
        skip_images=True,
        inline_data_media="drop_element",
        exclude_selectors=_BOILERPLATE,
        autolinks=False,
    )
    markdown = html_to_markdown.convert(html, options).content or ""
    return _ANCHOR_LINK.sub(r"\1", markdown)


def markdown_document(markdown: str, *, media_type: str, filename: str) -> Document:
    """The Document of converted Markdown; a document without text is refused."""
    if not markdown.strip():
        raise UnprocessableDocument(
            f"File {filename!r} contains no text to chunk (only markup, images or navigation)",
            param="id",
            code="empty_document",
        )
    return Document(markdown, True, media_type, headings=markdown_headings(markdown))


def extract_html(data: bytes, *, filename: str, limits: ExtractLimits) -> Document:
    markdown = html_to_markdown_text(decode_html(data), TextBudget(limits, filename))
    return markdown_document(markdown, media_type="text/html", filename=filename)
