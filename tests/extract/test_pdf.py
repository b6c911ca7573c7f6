"""PDF extraction against poppler's pdftotext on a real multi-page Chromium-printed document."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from app.api.errors import status_of
from app.errors import UnprocessableDocument
from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.base import Document
from tests.extract import bombs, documents
from tests.extract.conftest import Corpus

LIMITS = ExtractLimits()


def _pdf(extractor: Extractor, data: bytes, name: str = "doc.pdf") -> Document:
    return extract_with(extractor, data, filename=name, limits=LIMITS)


def test_covers_pdftotext_words(corpus: Corpus, extractor: Extractor) -> None:
    document = _pdf(extractor, corpus.pdf)
    reference = documents.pdftotext(corpus.pdf_path)
    assert document.media_type == "application/pdf"
    assert document.markdown is False
    assert documents.coverage(reference, document.text) >= 0.97
    assert "\r" not in document.text


def test_pages_are_exact_spans_and_attribute_words(corpus: Corpus, extractor: Extractor) -> None:
    document = _pdf(extractor, corpus.pdf)
    page_count = len(documents.pdftotext(corpus.pdf_path).split("\f")) - 1
    assert page_count >= 10
    assert len(document.pages) == page_count
    assert document.pages[0][0] == 0
    assert all(a <= b for a, b in document.pages)
    assert all(prev[1] < nxt[0] for prev, nxt in itertools.pairwise(document.pages))
    # Words poppler puts on page 3 and on no other page must fall in pages[2] only.
    per_page = [
        Counter(documents.words(documents.pdftotext(corpus.pdf_path, n, n)))
        for n in range(1, page_count + 1)
    ]
    only_third = [
        w for w in per_page[2] if all(w not in p for i, p in enumerate(per_page) if i != 2)
    ]
    assert len(only_third) >= 3
    ours = [Counter(documents.words(document.text[a:b])) for a, b in document.pages]
    for word in only_third:
        assert word in ours[2], word
        assert not any(word in page for i, page in enumerate(ours) if i != 2), word


def test_headings_come_from_the_outline(corpus: Corpus, extractor: Extractor) -> None:
    document = _pdf(extractor, corpus.pdf)
    expected = [
        line.lstrip("#").strip() for line in corpus.markdown.splitlines() if line.startswith("#")
    ]
    titles = [heading.title for heading in document.headings]
    assert [t for t in titles if t in expected] == expected
    starts = [heading.start for heading in document.headings]
    assert starts == sorted(starts)
    by_title = {heading.title: heading for heading in document.headings}
    for title in expected:
        heading = by_title[title]
        assert document.text[heading.start :].lower().startswith(title.lower()), title
    assert by_title["Preamble"].level == 2
    assert by_title["0. Definitions"].level == 3


def test_running_headers_and_footers_are_dropped(corpus: Corpus, extractor: Extractor) -> None:
    plain = _pdf(extractor, corpus.pdf)
    furnished = _pdf(extractor, corpus.pdf_furnished)
    # Chromium's footer is the file's URL and "n/m"; its header the date and the title.
    assert "file://" in documents.pdftotext(corpus.pdf_path.with_name("furnished.pdf"))
    assert "file://" not in furnished.text
    assert documents.coverage(plain.text, furnished.text) >= 0.99
    assert documents.coverage(furnished.text, plain.text) >= 0.99
    assert len(furnished.pages) == len(plain.pages)


def test_soft_hyphens_are_joined(corpus: Corpus, extractor: Extractor) -> None:
    document = _pdf(extractor, corpus.pdf_hyphenated)
    for word in ("internationalization", "extraordinarily", "comprehensive", "documentation"):
        assert word in document.text
    assert not set(document.text) & {"\x02", "\ufffe", "\u00ad"}


def test_encrypted_pdf_is_refused(corpus: Corpus, extractor: Extractor) -> None:
    with pytest.raises(UnprocessableDocument) as caught:
        _pdf(extractor, corpus.pdf_encrypted, "secret.pdf")
    assert caught.value.code == "encrypted_document"
    assert status_of(caught.value)[0] == 422
    assert "password" in caught.value.message


def test_image_only_pdf_has_no_text_layer(corpus: Corpus, extractor: Extractor) -> None:
    assert documents.pdftotext(corpus.pdf_path.with_name("image.pdf")).strip() == ""
    with pytest.raises(UnprocessableDocument) as caught:
        _pdf(extractor, corpus.pdf_image_only, "scan.pdf")
    assert caught.value.code == "no_text_layer"
    assert "OCR" in caught.value.message


@pytest.mark.parametrize("keep", [0.5, 0.05])
def test_truncated_pdf_is_corrupt(corpus: Corpus, extractor: Extractor, keep: float) -> None:
    with pytest.raises(UnprocessableDocument) as caught:
        _pdf(extractor, corpus.pdf[: int(len(corpus.pdf) * keep)], "cut.pdf")
    assert caught.value.code == "corrupt_document"


def test_decompression_bomb_stream_is_refused_with_flat_memory() -> None:
    bomb = bombs.pdf_bomb(2048)  # 2 MB whose page content inflates to 2 GiB
    extractor = Extractor()
    try:
        with pytest.raises(UnprocessableDocument) as caught:
            extract_with(extractor, bomb, filename="bomb.pdf", limits=ExtractLimits(seconds=20))
        # PDFium bounds what it inflates: the page is read, found empty, and memory stays flat.
        assert caught.value.code == "no_text_layer"
        assert 0 < extractor.peak_rss_bytes < 512 * 1024 * 1024
    finally:
        extractor.close()
