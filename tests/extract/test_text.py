"""Text and Markdown keep today's decoding; Markdown headings feed HTML and DOCX too."""

from __future__ import annotations

import codecs

import pytest

from app.errors import UnsupportedMedia
from app.extract import ExtractLimits, Extractor, Heading, extract_with, markdown_headings

LIMITS = ExtractLimits()
SAMPLE = "Grüße, 世界 — text\n"


@pytest.mark.parametrize(
    "data",
    [
        SAMPLE.encode(),
        codecs.BOM_UTF8 + SAMPLE.encode(),
        codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"),
    ],
)
def test_text_is_decoded_without_its_bom(extractor: Extractor, data: bytes) -> None:
    document = extract_with(extractor, data, filename="a.txt", limits=LIMITS)
    assert document.text == SAMPLE
    assert (document.markdown, document.media_type) == (False, "text/plain")
    assert document.headings == [] and document.pages == []


def test_latin1_is_not_guessed(extractor: Extractor) -> None:
    with pytest.raises(UnsupportedMedia):
        extract_with(extractor, "café".encode("latin-1"), filename="a.txt", limits=LIMITS)


def test_markdown_gets_headings(extractor: Extractor) -> None:
    text = "# Usage\n\nIntro.\n\n## Options\n\nMore.\n"
    document = extract_with(extractor, text.encode(), filename="guide.md", limits=LIMITS)
    assert document.markdown is True
    assert document.media_type == "text/markdown"
    assert document.headings == [Heading(0, 1, "Usage"), Heading(17, 2, "Options")]


def test_a_text_file_has_no_headings_even_with_hashes(extractor: Extractor) -> None:
    document = extract_with(extractor, b"# not a heading\n", filename="a.txt", limits=LIMITS)
    assert document.headings == []


def _titles(text: str) -> list[tuple[int, str]]:
    headings = markdown_headings(text)
    for heading in headings:
        assert heading.title.split()[0] in text[heading.start :].split("\n", 1)[0]
    return [(heading.level, heading.title) for heading in headings]


def test_atx_headings() -> None:
    text = "# One\n## Two ##\n   ### Three\n#### Four #\n#nospace\n#\n    # indented code\n"
    assert _titles(text) == [(1, "One"), (2, "Two"), (3, "Three"), (4, "Four")]


def test_setext_headings_take_their_paragraph() -> None:
    text = "Title\n=====\n\nSub title\non two lines\n---\n\ntext\n\n---\n"
    assert _titles(text) == [(1, "Title"), (2, "Sub title on two lines")]


def test_fenced_code_is_not_headings() -> None:
    text = "# Real\n```sh\n# a comment\n~~~\n# still code\n```\n~~~~\n# code\n~~~~\n## After\n"
    assert _titles(text) == [(1, "Real"), (2, "After")]


def test_unclosed_fence_runs_to_the_end() -> None:
    assert _titles("# A\n```\n# B\n") == [(1, "A")]


def test_crlf_offsets() -> None:
    text = "intro\r\n\r\n# Head\r\nbody\r\n"
    headings = markdown_headings(text)
    assert headings == [Heading(9, 1, "Head")]
    assert text[headings[0].start :].startswith("# Head")
