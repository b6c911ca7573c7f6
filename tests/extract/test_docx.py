"""DOCX (written by pandoc) through mammoth to Markdown; zip bombs and entity bombs refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.api.errors import status_of
from app.errors import DocumentTooLarge, UnprocessableDocument
from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.docx import MEDIA_TYPE
from tests.extract import bombs, documents
from tests.extract.conftest import Corpus

LIMITS = ExtractLimits()
MB = 1 << 20


@pytest.fixture
def fresh_extractor() -> Iterator[Extractor]:
    """A worker of its own, so its peak RSS tells what this test's documents cost."""
    pool = Extractor()
    yield pool
    pool.close()


def test_covers_pandocs_plain_text(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.docx, filename="gpl.docx", limits=LIMITS)
    reference = documents.pandoc(corpus.markdown, "-t", "plain").decode()
    assert document.media_type == MEDIA_TYPE
    assert document.markdown is True
    assert documents.coverage(reference, document.text) >= 0.97


def test_heading_styles_lists_and_tables(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.docx, filename="gpl.docx", limits=LIMITS)
    expected = [
        (len(line) - len(line.lstrip("#")), line.lstrip("#").strip())
        for line in corpus.markdown.splitlines()
        if line.startswith("#")
    ]
    assert [(h.level, h.title) for h in document.headings] == expected
    assert "| 4 | Verbatim copies | permission |" in " ".join(document.text.split())
    assert "\n  * or with a written offer valid for three years" in document.text
    assert "\n> Quoted: free as in freedom.\n" in document.text
    # The footnote's text is kept; the links between marker and note are not.
    assert "Shipped in base-files as /usr/share/common-licenses/GPL-3." in document.text
    assert "](#" not in document.text and "\u2191" not in document.text


def test_title_style_is_a_heading(tmp_path: Path, extractor: Extractor) -> None:
    source = "---\ntitle: The Manual\n---\n\n# Usage\n\nRun it.\n"
    docx = documents.pandoc_file(source, tmp_path / "manual.docx")
    document = extract_with(extractor, docx, filename="manual.docx", limits=LIMITS)
    assert [(h.level, h.title) for h in document.headings] == [(1, "The Manual"), (1, "Usage")]


def test_zip_bomb_is_refused_fast_with_flat_memory(
    corpus: Corpus, fresh_extractor: Extractor
) -> None:
    bomb = bombs.zip_bomb(2048)  # 2 MB that inflates to 2 GiB
    assert len(bomb) < 3 * MB
    extract_with(fresh_extractor, corpus.docx, filename="gpl.docx", limits=LIMITS)
    baseline = fresh_extractor.peak_rss_bytes
    started = time.monotonic()
    with pytest.raises(DocumentTooLarge) as caught:
        extract_with(fresh_extractor, bomb, filename="bomb.docx", limits=LIMITS)
    assert time.monotonic() - started < 5
    assert status_of(caught.value)[0] == 413
    assert caught.value.code == "document_too_large"
    assert fresh_extractor.peak_rss_bytes - baseline < 32 * MB


@pytest.mark.parametrize("declared", [1024, 200 * MB])
def test_zip_bomb_lying_about_its_size_is_refused(
    corpus: Corpus, fresh_extractor: Extractor, declared: int
) -> None:
    bomb = bombs.zip_bomb(1024, declared_bytes=declared)
    extract_with(fresh_extractor, corpus.docx, filename="gpl.docx", limits=LIMITS)
    baseline = fresh_extractor.peak_rss_bytes
    started = time.monotonic()
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(fresh_extractor, bomb, filename="liar.docx", limits=LIMITS)
    assert time.monotonic() - started < 10
    assert caught.value.code == "corrupt_document"
    assert fresh_extractor.peak_rss_bytes - baseline < 32 * MB


def test_inflated_size_limit_applies(corpus: Corpus, extractor: Extractor) -> None:
    tight = ExtractLimits(max_unpacked_bytes=16 * 1024)
    with pytest.raises(DocumentTooLarge):
        extract_with(extractor, corpus.docx, filename="gpl.docx", limits=tight)


def test_billion_laughs_is_refused(corpus: Corpus, extractor: Extractor) -> None:
    hostile = bombs.replace_part(corpus.docx, "word/document.xml", bombs.BILLION_LAUGHS)
    started = time.monotonic()
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(extractor, hostile, filename="laughs.docx", limits=LIMITS)
    assert time.monotonic() - started < 5
    assert caught.value.code == "unsafe_document"
    assert "DOCTYPE" in caught.value.message


def test_entity_declaration_in_utf16_part_is_refused(corpus: Corpus, extractor: Extractor) -> None:
    utf16 = bombs.BILLION_LAUGHS.replace(b'encoding="UTF-8"', b'encoding="UTF-16"')
    hostile = bombs.replace_part(
        corpus.docx, "word/styles.xml", b"\xff\xfe" + utf16.decode().encode("utf-16-le")
    )
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(extractor, hostile, filename="laughs16.docx", limits=LIMITS)
    assert caught.value.code == "unsafe_document"


def test_truncated_docx_is_corrupt(corpus: Corpus, extractor: Extractor) -> None:
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(
            extractor, corpus.docx[: len(corpus.docx) // 2], filename="cut.docx", limits=LIMITS
        )
    assert caught.value.code == "corrupt_document"


def test_damaged_docx_member_is_corrupt(corpus: Corpus, extractor: Extractor) -> None:
    middle = len(corpus.docx) // 3
    damaged = corpus.docx[:middle] + bytes(4096) + corpus.docx[middle + 4096 :]
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(extractor, damaged, filename="damaged.docx", limits=LIMITS)
    assert caught.value.code == "corrupt_document"


def test_malformed_document_xml_is_corrupt(corpus: Corpus, extractor: Extractor) -> None:
    broken = bombs.replace_part(corpus.docx, "word/document.xml", b"<w:document><w:body>")
    with pytest.raises(UnprocessableDocument) as caught:
        extract_with(extractor, broken, filename="broken.docx", limits=LIMITS)
    assert caught.value.code == "corrupt_document"
