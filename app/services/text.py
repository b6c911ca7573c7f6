"""Turning uploaded bytes into text the chunker can work on, refusing anything that is not text."""

from __future__ import annotations

import codecs

from app.errors import UnsupportedMedia

_MARKDOWN_SUFFIXES = (".md", ".markdown")

# Only encodings that announce themselves with a BOM are trusted; guessing legacy code pages
# would silently turn binary files into garbage text.
_BOM_ENCODINGS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(data: bytes, *, filename: str) -> str:
    """Decode UTF-8 (BOM optional) or UTF-16 with a BOM; the BOM is not part of the result.

    Raises UnsupportedMedia for anything else, including binary files that happen to decode.
    """
    body, encoding = _sniff(data)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _not_text(filename) from exc
    # Valid UTF-8 with NULs is nearly always a binary format (images, archives, PDFs' streams);
    # no text document needs them and they would poison the tokenizer and the database.
    if "\x00" in text:
        raise _not_text(filename)
    return text


def is_markdown(filename: str) -> bool:
    return filename.lower().endswith(_MARKDOWN_SUFFIXES)


def _sniff(data: bytes) -> tuple[bytes, str]:
    for bom, encoding in _BOM_ENCODINGS:
        if data.startswith(bom):
            return data[len(bom) :], encoding
    return data, "utf-8"


def _not_text(filename: str) -> UnsupportedMedia:
    return UnsupportedMedia(
        f"File {filename!r} is not UTF-8 or UTF-16 text; only text documents can be chunked",
        param="file",
    )
