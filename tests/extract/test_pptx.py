"""PPTX (written by pandoc, one slide per section): slides are pages, titles are headings."""

from __future__ import annotations

import io
import zipfile

import pytest

from app.errors import UnprocessableDocument
from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.pptx import MEDIA_TYPE
from tests.extract import bombs, documents
from tests.extract.conftest import Corpus

LIMITS = ExtractLimits()


def _slides(pptx: bytes) -> int:
    names = zipfile.ZipFile(io.BytesIO(pptx)).namelist()
    return sum(name.startswith("ppt/slides/slide") and name.endswith(".xml") for name in names)


def test_covers_pandocs_plain_text(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.pptx, filename="gpl.pptx", limits=LIMITS)
    reference = documents.pandoc(corpus.markdown, "-t", "plain").decode()
    assert document.media_type == MEDIA_TYPE
    assert document.markdown is True
    assert documents.coverage(reference, document.text) >= 0.97


def test_slides_are_pages_and_titles_are_headings(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.pptx, filename="gpl.pptx", limits=LIMITS)
    assert len(document.pages) == _slides(corpus.pptx)
    titles = [heading.title for heading in document.headings]
    expected = [
        line.lstrip("#").strip() for line in corpus.markdown.splitlines() if line[:1] == "#"
    ]
    assert [title for title in titles if title in expected] == expected
    # Each section's slide is the page its heading starts, and its text follows there.
    for heading in document.headings:
        page = next(i for i, (a, b) in enumerate(document.pages) if a <= heading.start < b)
        start, end = document.pages[page]
        assert heading.start == start
        assert document.text[start:end].startswith(f"# {heading.title}")
    definitions = next(h for h in document.headings if h.title == "0. Definitions")
    slide = next(p for p in document.pages if p[0] == definitions.start)
    assert '"The Program" refers to any copyrightable work' in document.text[slide[0] : slide[1]]
    assert "| 15 | Disclaimer of warranty | limitation |" in document.text


def test_broken_slide_list_is_corrupt(corpus: Corpus, extractor: Extractor) -> None:
    broken = bombs.replace_part(corpus.pptx, "ppt/_rels/presentation.xml.rels", b"<Relationships/>")
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(extractor, broken, filename="broken.pptx", limits=LIMITS)
    assert caught.value.code == "corrupt_document"


def test_entities_in_a_slide_are_refused(corpus: Corpus, extractor: Extractor) -> None:
    hostile = bombs.replace_part(corpus.pptx, "ppt/slides/slide2.xml", bombs.BILLION_LAUGHS)
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(extractor, hostile, filename="laughs.pptx", limits=LIMITS)
    assert caught.value.code == "unsafe_document"
