"""decode_text and is_markdown: which bytes are text, and which names are Markdown."""

from __future__ import annotations

import codecs
import random

import pytest

from app.api.errors import status_of
from app.errors import UnsupportedMedia
from app.extract.text import decode_text, is_markdown

SAMPLE = "Grüße, 世界! Emoji 😀 and\r\nnew lines.\n"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(SAMPLE.encode("utf-8"), id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + SAMPLE.encode("utf-8"), id="utf-8-bom"),
        pytest.param(codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le"), id="utf-16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"), id="utf-16-be-bom"),
    ],
)
def test_decodes_text_encodings_and_strips_bom(data: bytes) -> None:
    assert decode_text(data, filename="doc.txt") == SAMPLE


def test_empty_file_decodes_to_empty_text() -> None:
    assert decode_text(b"", filename="empty.txt") == ""


def _png_like() -> bytes:
    rng = random.Random(1234)
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(4096)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_png_like(), id="png"),
        pytest.param(b"plain text\x00\x00\x01\x02more", id="nul-bytes"),
        pytest.param("café".encode("latin-1"), id="latin-1"),
        pytest.param(b"\xff\xfe" + b"a\x00b", id="utf-16-odd-length"),
        pytest.param(b"\xff\xfe" + b"\x00\xd8a\x00", id="utf-16-lone-surrogate"),
        pytest.param(SAMPLE.encode("utf-16-le"), id="utf-16-without-bom"),
    ],
)
def test_binary_or_unknown_encodings_are_unsupported_media(data: bytes) -> None:
    with pytest.raises(UnsupportedMedia) as excinfo:
        decode_text(data, filename="x.bin")
    assert status_of(excinfo.value)[0] == 415
    assert "'x.bin'" in excinfo.value.message


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("README.md", True),
        ("notes.MARKDOWN", True),
        ("dir.md/notes.Md", True),
        ("notes.txt", False),
        ("md", False),
        ("archive.md.gz", False),
    ],
)
def test_is_markdown(filename: str, expected: bool) -> None:
    assert is_markdown(filename) is expected
