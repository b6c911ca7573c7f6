"""EPUB (written by pandoc): the spine's chapters in order, through the HTML path."""

from __future__ import annotations

import pytest

from app.errors import UnprocessableDocument
from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.epub import MEDIA_TYPE
from tests.extract import bombs, documents
from tests.extract.conftest import Corpus

LIMITS = ExtractLimits()
CHAPTER = "EPUB/text/ch001.xhtml"


def test_covers_pandocs_plain_text_with_headings(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.epub, filename="gpl.epub", limits=LIMITS)
    reference = documents.pandoc(corpus.markdown, "-t", "plain").decode()
    assert document.media_type == MEDIA_TYPE
    assert document.markdown is True
    assert documents.coverage(reference, document.text) >= 0.97
    titles = [heading.title for heading in document.headings]
    assert titles[0] == "GPL"  # the title page comes first in the spine
    expected = [
        line.lstrip("#").strip() for line in corpus.markdown.splitlines() if line[:1] == "#"
    ]
    assert titles[1:] == expected


def test_drm_protected_epub_is_refused(corpus: Corpus, extractor: Extractor) -> None:
    encryption = b'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"/>'
    locked = bombs.add_part(corpus.epub, "META-INF/encryption.xml", encryption)
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(extractor, locked, filename="locked.epub", limits=LIMITS)
    assert caught.value.code == "encrypted_document"


def test_missing_chapter_is_corrupt(corpus: Corpus, extractor: Extractor) -> None:
    broken = bombs.replace_part(
        corpus.epub,
        "EPUB/content.opf",
        bombs.read_part(corpus.epub, "EPUB/content.opf").replace(b"ch001.xhtml", b"gone.xhtml"),
    )
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(extractor, broken, filename="broken.epub", limits=LIMITS)
    assert caught.value.code == "corrupt_document"


def test_entities_in_a_chapter_are_refused(corpus: Corpus, extractor: Extractor) -> None:
    chapter = bombs.read_part(corpus.epub, CHAPTER)
    hostile = chapter.replace(b"<!DOCTYPE html>", b'<!DOCTYPE html [<!ENTITY a "aaaaaaaaaa">]>')
    assert hostile != chapter
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(
            extractor,
            bombs.replace_part(corpus.epub, CHAPTER, hostile),
            filename="x.epub",
            limits=LIMITS,
        )
    assert caught.value.code == "unsafe_document"


def test_detected_by_content(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.epub, filename="book.zip", limits=LIMITS)
    assert document.media_type == MEDIA_TYPE
