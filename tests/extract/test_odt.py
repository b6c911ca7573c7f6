"""ODT (written by pandoc): headings, nested lists, tables and notes from content.xml."""

from __future__ import annotations

import pytest

from app.errors import UnprocessableDocument
from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.odt import MEDIA_TYPE
from tests.extract import bombs, documents
from tests.extract.conftest import Corpus

LIMITS = ExtractLimits()


def test_covers_pandocs_plain_text(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.odt, filename="gpl.odt", limits=LIMITS)
    reference = documents.pandoc(corpus.markdown, "-t", "plain").decode()
    assert document.media_type == MEDIA_TYPE
    assert document.markdown is True
    assert documents.coverage(reference, document.text) >= 0.97


def test_structure_is_kept(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.odt, filename="gpl.odt", limits=LIMITS)
    expected = [
        (len(line) - len(line.lstrip("#")), line.lstrip("#").strip())
        for line in corpus.markdown.splitlines()
        if line.startswith("#")
    ]
    assert [(h.level, h.title) for h in document.headings] == expected
    assert "\n  - or with a written offer valid for three years" in document.text
    assert "| 4 | Verbatim copies | permission |" in document.text
    assert "Shipped in base-files as /usr/share/common-licenses/GPL-3." in document.text


def test_detected_by_content(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.odt, filename="upload.bin", limits=LIMITS)
    assert document.media_type == MEDIA_TYPE


def test_entities_are_refused(corpus: Corpus, extractor: Extractor) -> None:
    hostile = bombs.replace_part(corpus.odt, "content.xml", bombs.BILLION_LAUGHS)
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(extractor, hostile, filename="laughs.odt", limits=LIMITS)
    assert caught.value.code == "unsafe_document"


def test_malformed_content_is_corrupt(corpus: Corpus, extractor: Extractor) -> None:
    broken = bombs.replace_part(corpus.odt, "content.xml", b"<office:document-content>")
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(extractor, broken, filename="broken.odt", limits=LIMITS)
    assert caught.value.code == "corrupt_document"
