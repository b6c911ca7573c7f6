"""The type comes from the bytes: names can lie, and binary never passes for text."""

from __future__ import annotations

import io
import zipfile

import pytest

from app.api.errors import status_of
from app.errors import UnprocessableDocument, UnsupportedMedia
from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.detect import Kind, detect
from tests.extract.conftest import Corpus

LIMITS = ExtractLimits()


def test_a_pdf_named_txt_is_still_a_pdf(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.pdf, filename="notes.txt", limits=LIMITS)
    assert document.media_type == "application/pdf"
    assert len(document.pages) > 1


def test_a_docx_named_pdf_is_still_a_docx(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.docx, filename="report.pdf", limits=LIMITS)
    assert document.media_type.endswith("wordprocessingml.document")


def test_html_without_an_html_name(corpus: Corpus, extractor: Extractor) -> None:
    document = extract_with(extractor, corpus.html, filename="page", limits=LIMITS)
    assert document.media_type == "text/html"
    assert "<" not in document.text.split("\n", 1)[0]


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (bytes(range(256)) * 8, "scan.pdf"),
        (b"GIF89a\x01\x00\x01\x00" + bytes(64), "image.pdf"),
        (b"\x1f\x8b\x08\x00" + bytes(32), "notes.txt"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "legacy.doc"),
        (b"\xff\xfe\x00\xd8", "bad-utf16.txt"),
        (b"text with a NUL \x00 byte", "nul.md"),
    ],
)
def test_binary_is_unsupported_whatever_its_name(
    extractor: Extractor, data: bytes, name: str
) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        extract_with(extractor, data, filename=name, limits=LIMITS)
    assert status_of(caught.value)[0] == 415
    assert caught.value.subject == "file"
    assert name in caught.value.message


def test_a_zip_that_is_not_a_word_document_is_unsupported() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    with pytest.raises(UnsupportedMedia):
        detect(buffer.getvalue(), filename="data.docx")


def test_password_protected_office_file_named_docx() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
    with pytest.raises(UnprocessableDocument) as caught:
        detect(ole, filename="secret.docx")
    assert caught.value.code == "encrypted_document"
    assert "password" in caught.value.message


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        (b"%PDF-1.7\n", "a.bin", Kind.PDF),
        (b"\x00\x93junk before the header %PDF-1.4\n", "a", Kind.PDF),
        (b"junk before the header %PDF-1.4\n", "a.pdf", Kind.PDF),
        (b"PDF files start with %PDF-1.7, then objects.\n", "pdf.md", Kind.MARKDOWN),
        (b"<!DOCTYPE html><p>x", "a.txt", Kind.HTML),
        (b"\xef\xbb\xbf  <html lang=en>", "a", Kind.HTML),
        (b"<!-- generated --><HTML>", "a", Kind.HTML),
        ("\ufeff<!DOCTYPE html><p>x".encode("utf-16-le"), "a", Kind.HTML),
        (b"<p>a fragment</p>", "a.htm", Kind.HTML),
        (b"<p>a fragment in a text file</p>", "a.txt", Kind.TEXT),
        (b"# Title\n", "README.md", Kind.MARKDOWN),
        (b"# Title\n", "README.MARKDOWN", Kind.MARKDOWN),
        (b"plain words", "notes", Kind.TEXT),
    ],
)
def test_detect(data: bytes, name: str, kind: Kind) -> None:
    assert detect(data, filename=name) is kind
