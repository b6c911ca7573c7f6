"""Tiny documents that ask to inflate: counts and levels the document states are clamped,
repeated slides and chapters read once, and the text limit holds for every format, in the
worker, as the text is built (issue 24)."""

from __future__ import annotations

import contextlib
import re
import time

import pytest

from app.errors import DocumentTooLarge, UnprocessableDocument
from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.base import TextBudget
from app.extract.html import html_to_markdown_text
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
    assert caught.value.status_code == 413
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


# Nested quotes repeat "> " on every line: 300 of them around 100,000 line breaks (504 kB)
# became 60 M characters, 10 GB of memory in the converter, in 30 s (html-to-markdown 3.21).
def nested_quotes(depth: int, lines: int) -> str:
    return "<blockquote>" * depth + "<p>" + "x<br>" * lines + "</p>"


def test_html_to_markdown_output_can_be_far_larger_than_its_input() -> None:
    # Why the limit must hold before conversion: the converter's output is not bounded by its
    # input, and it cannot be stopped once it runs.
    small = nested_quotes(100, 1000)
    assert len(html_to_markdown_text(small, TextBudget(LIMITS, "q.html"))) > 30 * len(small)
    padded = "<table><tr><td>" + "w" * 300 + "</td></tr>" + "<tr><td>y</td></tr>" * 1000
    assert len(html_to_markdown_text(padded, TextBudget(LIMITS, "t.html"))) > 10 * len(padded)


def test_nested_quotes_are_refused_before_conversion_in_flat_memory() -> None:
    hostile = nested_quotes(300, 100_000).encode()
    with contextlib.closing(Extractor()) as extractor:
        started = time.perf_counter()
        with pytest.raises(DocumentTooLarge) as caught:
            extract_with(extractor, hostile, filename="quotes.html", limits=LIMITS)
        took = time.perf_counter() - started
        peak = extractor.peak_rss_bytes
    assert caught.value.status_code == 413 and caught.value.code == "document_too_large"
    assert f"more than {LIMITS.max_chars:,} characters" in caught.value.message
    assert "its markup alone can add" in caught.value.message  # found before converting
    assert took < 10  # the worker's start-up included
    assert 0 < peak < 300 << 20


def test_padded_table_cells_are_charged_before_conversion(extractor: Extractor) -> None:
    # One wide cell pads every row of its column to 200 characters: 19 bytes become 205.
    rows = "<tr><td>y</td></tr>" * 100_000
    hostile = f"<table><tr><td>{'w' * 300}</td></tr>{rows}</table>".encode()
    limits = ExtractLimits(max_chars=5_000_000)
    with pytest.raises(DocumentTooLarge) as caught:
        extract_with(extractor, hostile, filename="table.html", limits=limits)
    assert "its markup alone can add" in caught.value.message
    assert "more than 5,000,000 characters" in caught.value.message


def test_ordinary_pages_pass_the_markup_check(corpus: Corpus, extractor: Extractor) -> None:
    # The check's estimate must not refuse what converts within the limit: tables, lists.
    html = corpus.html.decode()
    markdown = html_to_markdown_text(html, TextBudget(LIMITS, "gpl.html"))
    within = ExtractLimits(max_chars=len(markdown) + 1000)
    document = extract_with(extractor, corpus.html, filename="gpl.html", limits=within)
    assert document.text.strip() == markdown.strip()


def test_docx_text_is_counted_before_mammoth_builds_it(
    corpus: Corpus, extractor: Extractor
) -> None:
    # 4 M characters of runs in a 40 kB file: mammoth and the converter built all of it before
    # the limit was checked. Counted as the XML streams in, it stops one run past the limit.
    document = bombs.read_part(corpus.docx, "word/document.xml").decode()
    run = '<w:r><w:t xml:space="preserve">' + "lorem ipsum " * 80 + "</w:t></w:r>"
    body = document.index("<w:body>") + len("<w:body>")
    many = document[:body] + "<w:p>" + run * 4200 + "</w:p>" + document[body:]
    hostile = bombs.replace_part(corpus.docx, "word/document.xml", many.encode())
    assert len(hostile) < 100_000
    limits = ExtractLimits(max_chars=1_000_000)
    with pytest.raises(DocumentTooLarge) as caught:
        extract_with(extractor, hostile, filename="runs.docx", limits=limits)
    stopped = re.search(r"stopped at ([\d,]+)", caught.value.message)
    assert stopped is not None
    assert 1_000_000 < int(stopped.group(1).replace(",", "")) <= 1_000_000 + 960
