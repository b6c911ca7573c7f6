"""The extraction stage's one interface: bytes of a stored file in, a Document out."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.errors import DocumentTooLarge, UnprocessableDocument

# Counts and levels a document states for itself (ODF's <text:s text:c="N"/>, a PPTX paragraph's
# lvl) are clamped: no real document needs more, and a hostile one asked for 10**8.
MAX_REPEAT = 256
MAX_LEVEL = 8


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
    max_chars: int = 32 * 1024 * 1024  # characters of extracted text, counted as it is built
    ocr: OcrOptions = OcrOptions()


class TextBudget:
    """The characters a document's text may still grow by, charged as the parser builds it, so
    a document that would inflate is refused before its text exists (in the worker)."""

    def __init__(self, limits: ExtractLimits, filename: str) -> None:
        self.limit = limits.max_chars
        self.filename = filename
        self.used = 0

    def take(self, text: str) -> str:
        """`text`, once its length is charged; DocumentTooLarge past the limit."""
        self.charge(len(text))
        return text

    def room_for(self, growth: int) -> None:
        """Refuse before a conversion that may add `growth` characters past the limit (its
        markup's worst case, found by scanning it): the converter cannot be stopped midway."""
        if self.used + growth > self.limit:
            raise too_much_markup(self.filename, self.used + growth, self.limit)

    def charge(self, chars: int) -> None:
        """Charge text about to be built (before it exists); DocumentTooLarge past the limit."""
        self.used += chars
        if self.used > self.limit:
            raise too_much_text(self.filename, self.used, self.limit)


def too_much_text(filename: str, chars: int, limit: int) -> DocumentTooLarge:
    """The one 413 for text over RAGPREP_MAX_EXTRACTED_CHARS, with the numbers."""
    return DocumentTooLarge(
        f"File {filename!r} extracts to more than {limit:,} characters of text (stopped at "
        f"{chars:,}; the limit is RAGPREP_MAX_EXTRACTED_CHARS); split it into smaller files",
        param="id",
    )


def too_much_markup(filename: str, chars: int, limit: int) -> DocumentTooLarge:
    """The 413 for a page whose Markdown would pass RAGPREP_MAX_EXTRACTED_CHARS, found before
    converting it: deeply nested quotes or lists repeat their prefix on every line, and table
    cells are padded."""
    return DocumentTooLarge(
        f"File {filename!r} would extract to more than {limit:,} characters of text (its markup "
        f"alone can add {chars:,}: deeply nested quotes or lists, or wide padded tables; the "
        "limit is RAGPREP_MAX_EXTRACTED_CHARS); split it into smaller files",
        param="id",
    )


def check_text_size(document: Document, filename: str, limits: ExtractLimits) -> Document:
    """The backstop for every format: the whole text within the limit."""
    if len(document.text) > limits.max_chars:
        raise too_much_text(filename, len(document.text), limits.max_chars)
    return document


def corrupt_document(filename: str, problem: str) -> UnprocessableDocument:
    """The one 422 for a damaged file; `problem` says what is wrong and what the user can do."""
    message = f"File {filename!r} {problem}"
    return UnprocessableDocument(message, param="id", code="corrupt_document")
