"""HTML (pandoc's standalone page, with its table of contents) becomes Markdown with headings."""

from __future__ import annotations

import pytest

from app.errors import UnprocessableDocument
from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.html import decode_html
from tests.extract import documents
from tests.extract.conftest import Corpus

LIMITS = ExtractLimits()
SITE_CHROME = """<header><a href="/">HomeLinkWord</a></header>
<nav><ul><li><a href="/docs">NavLinkWord</a></li></ul></nav>
<script>var secretScriptWord = "never chunk me";</script>
<style>.x { color: stylesheetword; }</style>
<aside>AsideAdvertWord</aside>
"""
PAGE_FOOTER = "<footer>Copyright FooterWord</footer><script>trailingScriptWord()</script>"


def _with_site_chrome(html: bytes) -> bytes:
    page = html.decode()
    page = page.replace("<body>", "<body>" + SITE_CHROME, 1)
    return page.replace("</body>", PAGE_FOOTER + "</body>", 1).encode()


def test_covers_pandocs_plain_text(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.html, filename="gpl.html", limits=LIMITS)
    reference = documents.pandoc(corpus.markdown, "-t", "plain").decode()
    assert document.media_type == "text/html"
    assert document.markdown is True
    assert documents.coverage(reference, document.text) >= 0.97


def test_headings_tables_and_nested_lists(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.html, filename="gpl.html", limits=LIMITS)
    expected = [
        (len(line) - len(line.lstrip("#")), line.lstrip("#").strip())
        for line in corpus.markdown.splitlines()
        if line.startswith("#")
    ]
    assert [(h.level, h.title) for h in document.headings] == expected
    for heading in document.headings:
        assert document.text[heading.start :].startswith("#" * heading.level + " " + heading.title)
    assert "| 15 | Disclaimer of warranty | limitation |" in " ".join(document.text.split())
    assert "\n  * with the Corresponding Source alongside" in document.text


def test_scripts_styles_and_navigation_never_reach_the_text(
    corpus: Corpus, extractor: Extractor
) -> None:
    page = _with_site_chrome(corpus.html)
    document = extract_with(extractor, page, filename="page.html", limits=LIMITS)
    for word in (
        "HomeLinkWord",
        "NavLinkWord",
        "secretScriptWord",
        "stylesheetword",
        "AsideAdvertWord",
        "FooterWord",
        "trailingScriptWord",
    ):
        assert word not in document.text
    # pandoc's --toc is a <nav> too: its links to the headings are gone.
    assert "](#" not in document.text
    assert "Disclaimer of Warranty" in document.text


def test_article_headers_are_content(extractor: Extractor) -> None:
    page = b"<html><body><article><header><h1>Kept Title</h1></header><p>Body.</p></article>"
    document = extract_with(extractor, page, filename="a.html", limits=LIMITS)
    assert [h.title for h in document.headings] == ["Kept Title"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('<meta charset="iso-8859-1"><p>caf\xe9</p>'.encode("latin-1"), "café"),
        ('<meta content="text/html; charset=windows-1251"><p>\u0434'.encode("cp1251"), "д"),
        ("\ufeff<p>naïve</p>".encode("utf-16-le"), "naïve"),
        ("<p>naïve</p>".encode(), "naïve"),
        ("<p>na\xefve</p>".encode("cp1252"), "naïve"),  # no declaration, not UTF-8
    ],
)
def test_charset_detection(data: bytes, expected: str) -> None:
    assert expected in decode_html(data)


def test_page_without_text_is_refused(extractor: Extractor) -> None:
    page = b"<html><head><title>t</title></head><body><nav>Menu</nav><img src=x.png></body></html>"
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(extractor, page, filename="empty.html", limits=LIMITS)
    assert caught.value.code == "empty_document"
