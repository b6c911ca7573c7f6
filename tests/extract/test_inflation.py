"""Tiny documents that ask to inflate: counts and levels the document states are clamped,
repeated slides and chapters read once, and the text limit holds for every format, in the
worker, as the text is built (issue 24)."""

from __future__ import annotations

import re

import pytest

from app.api.errors import status_of
from app.errors import DocumentTooLarge, UnprocessableDocument
from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.zipguard import check_archive
from tests.extract import bombs
from tests.extract.conftest import Corpus

LIMITS = ExtractLimits()
ODT_SPACES = b"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>
<text:p>a<text:s text:c="100000000"/>b</text:p>
<text:p>c<text:s text:c="100000000"/>d</text:p>
<text:p>e<text:s text:c="100000000"/>f</text:p>
</office:text></office:body></office:document-content>"""


def _longest_space_run(text: str) -> int:
    return max((len(run) for run in re.findall(r" +", text)), default=0)


def test_odt_space_counts_are_clamped(corpus: Corpus, extractor: Extractor) -> None:
    # 3 x 10**8 spaces from 404 bytes: 4.25 GB of server memory before.
    hostile = bombs.replace_part(corpus.odt, "content.xml", ODT_SPACES)
    document = extract_with(extractor, hostile, filename="spaces.odt", limits=LIMITS)
    assert len(document.text) < 2000
    assert [line.replace(" ", "") for line in document.text.split()] == list("abcdef")
    assert extractor.peak_rss_bytes < 500 << 20


def test_pptx_indent_levels_are_clamped(corpus: Corpus, extractor: Extractor) -> None:
    slide = bombs.read_part(corpus.pptx, "ppt/slides/slide2.xml")
    deep = slide.replace(b"<a:p>", b'<a:p><a:pPr lvl="50000000"/>', 1)
    assert deep != slide
    hostile = bombs.replace_part(corpus.pptx, "ppt/slides/slide2.xml", deep)
    document = extract_with(extractor, hostile, filename="deep.pptx", limits=LIMITS)
    assert _longest_space_run(document.text) <= 16


def test_a_slide_listed_many_times_is_read_once(corpus: Corpus, extractor: Extractor) -> None:
    presentation = bombs.read_part(corpus.pptx, "ppt/presentation.xml")
    first = re.search(rb"<p:sldId [^>]*/>", presentation)
    assert first is not None
    repeated = presentation.replace(first.group(), first.group() * 20_000, 1)
    hostile = bombs.replace_part(corpus.pptx, "ppt/presentation.xml", repeated)
    plain = extract_with(extractor, corpus.pptx, filename="gpl.pptx", limits=LIMITS)
    document = extract_with(extractor, hostile, filename="repeated.pptx", limits=LIMITS)
    assert document.text == plain.text


def test_a_chapter_listed_many_times_is_read_once(corpus: Corpus, extractor: Extractor) -> None:
    container = bombs.read_part(corpus.epub, "META-INF/container.xml")
    found = re.search(rb'full-path="([^"]+)"', container)
    assert found is not None
    package_path = found.group(1).decode()
    package = bombs.read_part(corpus.epub, package_path)
    spine = re.search(rb"(<spine[^>]*>)(.*?)(</spine>)", package, re.DOTALL)
    assert spine is not None
    repeated = package.replace(spine.group(2), spine.group(2) * 2000, 1)
    hostile = bombs.replace_part(corpus.epub, package_path, repeated)
    plain = extract_with(extractor, corpus.epub, filename="gpl.epub", limits=LIMITS)
    document = extract_with(extractor, hostile, filename="repeated.epub", limits=LIMITS)
    assert document.text == plain.text


@pytest.mark.parametrize("kind", ["odt", "pptx", "epub", "docx", "html", "pdf", "markdown"])
def test_text_over_the_limit_is_413_with_the_numbers(
    corpus: Corpus, extractor: Extractor, kind: str
) -> None:
    data = corpus.markdown.encode() if kind == "markdown" else getattr(corpus, kind)
    name = "gpl.md" if kind == "markdown" else f"gpl.{kind}"
    with pytest.raises(DocumentTooLarge) as caught:
        extract_with(extractor, data, filename=name, limits=ExtractLimits(max_chars=5000))
    assert status_of(caught.value)[0] == 413
    assert caught.value.code == "document_too_large"
    assert "more than 5,000 characters" in caught.value.message
    assert "RAGPREP_MAX_EXTRACTED_CHARS" in caught.value.message


def test_the_zip_guard_checks_parts_whatever_their_name(corpus: Corpus) -> None:
    # _rels/.rels may point the main document at any part: word/main.bin was not checked.
    relations = bombs.read_part(corpus.docx, "_rels/.rels")
    moved = relations.replace(b"word/document.xml", b"word/main.bin")
    assert moved != relations
    hostile = bombs.add_part(
        bombs.replace_part(corpus.docx, "_rels/.rels", moved), "word/main.bin", bombs.BILLION_LAUGHS
    )
    with pytest.raises(UnprocessableDocument) as caught:
        check_archive(hostile, filename="moved.docx", max_unpacked_bytes=LIMITS.max_unpacked_bytes)
    assert caught.value.code == "unsafe_document"
    assert "word/main.bin" in caught.value.message


def test_the_zip_guard_still_takes_xhtml_and_svg_doctypes(corpus: Corpus) -> None:
    svg = b'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x"><svg/>'
    with_svg = bombs.add_part(corpus.epub, "EPUB/media/figure.svg", svg)
    check_archive(with_svg, filename="gpl.epub", max_unpacked_bytes=LIMITS.max_unpacked_bytes)
