"""The extraction stage's one interface: bytes of a stored file in, a Document out."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.errors import UnprocessableDocument


@dataclass(frozen=True, slots=True)
class Heading:
    """A section start: `start` is the str offset in Document.text where the section begins."""

    start: int
    level: int  # 1 = top level
    title: str


@dataclass(frozen=True, slots=True)
class Document:
    """What the chunker works on, with where each part came from.

    `pages[i]` is the (start, end) str span of page i + 1 in `text`, for paged formats (PDF);
    empty otherwise. `headings` are in order of `start`; a chunk's heading path is built from the
    headings that enclose its start.
    """

    text: str
    markdown: bool  # chunk with the Markdown splitter (structure is in the text)
    media_type: str  # what was detected, e.g. "application/pdf", "text/markdown"
    pages: list[tuple[int, int]] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    ocr_pages: list[int] = field(default_factory=list)  # 1-based pages whose text OCR read


@dataclass(frozen=True, slots=True)
class OcrOptions:
    """How pages without a text layer (and image files) are read: Tesseract's CLI."""

    enabled: bool = True  # off: such PDFs are refused (no_text_layer), images are unsupported
    dpi: int = 300  # pages are rendered at this resolution for OCR
    languages: str = "eng"  # Tesseract's -l: "eng", "eng+deu", ...
    threads: int = 2  # pages read at once, one tesseract process (one core) each
    command: str = "tesseract"


@dataclass(frozen=True, slots=True)
class ExtractLimits:
    """Bounds that keep a hostile document from costing unbounded time or memory."""

    seconds: float = 60.0  # per document
    max_unpacked_bytes: int = 256 * 1024 * 1024  # zip containers (DOCX, ...): total inflated size
    ocr: OcrOptions = OcrOptions()


def corrupt_document(filename: str, problem: str) -> UnprocessableDocument:
    """The one 422 for a damaged file; `problem` says what is wrong and what the user can do."""
    message = f"File {filename!r} {problem}"
    return UnprocessableDocument(message, param="id", code="corrupt_document")
