"""Token-bounded, structure-aware chunking of decoded documents (semantic-text-splitter)."""

from __future__ import annotations

import functools
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from semantic_text_splitter import MarkdownSplitter, TextSplitter

from app.engine.base import Tokenizer
from app.errors import InvalidRequest

# The splitter's search often re-measures a candidate it measured a few calls earlier (about one
# call in ten on real documents); a small per-document LRU skips those without holding on to
# the many large candidate strings a whole document produces.
_PROBE_CACHE_SIZE = 64

# The splitter re-measures the rest of a section that has no break point for every chunk it cuts
# from it: quadratic in the section's length (200 KB of "x" took 5.9 s, 400 KB 23 s; digits
# joined by commas, CJK without punctuation and combining sequences alike). Runs of non-space
# text longer than about 8 characters per token of capacity (several chunks of any real text)
# are cut into independent segments first, so each splitter call sees a bounded run.
_RUN_CHARS_PER_TOKEN = 8
_MIN_RUN_CHARS = 2048
# Spaces do not save it either: a line of words with no full stop or newline ("lorem ipsum "
# times 100,000) is one sentence to the splitter, which re-measures the whole rest of it for
# every chunk (1 MB 2.4 s, 8 MB 99 s, with the GIL held in the Rust splitter so /health stalled
# alike). So every segment the splitter sees is bounded, whatever its characters: about 16
# chunks of text, cut at the strongest break in its second half (a blank line, a line end, a
# sentence end, a space). Real text already breaks there, so its chunks barely change.
_SEGMENT_CHARS_PER_TOKEN = 64
_MIN_SEGMENT_CHARS = 16384
# Strongest first: where a segment may end, searched from its end backwards.
_BREAKS = (
    re.compile(r"\n[ \t]*\n"),
    re.compile(r"\n"),
    re.compile(r"[.!?\u3002\uff01\uff1f][\"')\]\u201d\u2019]*\s"),
    re.compile(r"\s"),
)
# Characters that never start a grapheme: a cut must not separate them from their base.
_JOINERS = frozenset("\u200c\u200d\ufe0e\ufe0f")

_Span = tuple[int, int]
_Measured = tuple[int, int, int]
_Counted = tuple[int, int, int | None]  # a span, with its model token count if already known


@dataclass(frozen=True, slots=True)
class Chunk:
    """A slice of the decoded text, `text == source[start:end]` in str indices.

    Surrounding whitespace is trimmed, except that Markdown chunks keep their first line's
    indentation, which is meaningful there (indented code, nested lists).
    """

    index: int
    start: int
    end: int
    tokens: int  # by the model's tokenizer, special tokens excluded
    text: str
    pages: tuple[int, int] | None = None  # [first, last] 1-based pages; None: unpaged
    headings: tuple[str, ...] = ()  # section path at the chunk, outermost first
    ocr_pages: tuple[int, ...] = ()  # those of its pages whose text OCR read

    def provenance(self) -> dict[str, Any]:
        """`pages`, `headings` and `ocr_pages` as every output carries them: lists, pages null
        if unpaged."""
        return {
            "pages": list(self.pages) if self.pages else None,
            "headings": list(self.headings),
            "ocr_pages": list(self.ocr_pages),
        }


def default_capacity(model_tokenizer: Tokenizer) -> int:
    """The most text tokens a chunk can hold and still be embedded without truncation."""
    return model_tokenizer.window - model_tokenizer.special_tokens


def split_text(
    *,
    text: str,
    model_tokenizer: Tokenizer,
    capacity: int | None = None,
    overlap: int = 0,
    markdown: bool = False,
    sizing_tokenizer: Tokenizer | None = None,
    deadline: float | None = None,
) -> list[Chunk]:
    """Split `text` into chunks of at most `capacity` tokens, in document order.

    `capacity` and `overlap` are measured with `sizing_tokenizer` when given (e.g. cl100k, for
    clients that budget in OpenAI tokens), otherwise with the model's tokenizer. Either way no
    chunk exceeds what the model can embed. Raises InvalidRequest for impossible limits, and
    ChunkingTimeout once `time.monotonic()` passes `deadline` (checked between segments, each
    of which takes milliseconds).
    """
    limit = default_capacity(model_tokenizer)
    capacity = checked_sizes(model_tokenizer, capacity, overlap)
    sizer = sizing_tokenizer or model_tokenizer
    max_run = max(_MIN_RUN_CHARS, _RUN_CHARS_PER_TOKEN * capacity)
    max_segment = max(_MIN_SEGMENT_CHARS, _SEGMENT_CHARS_PER_TOKEN * capacity)
    segments = list(_segments(text, max_run, max_segment))
    measured = None
    if segments == [(0, len(text))]:
        measured = _as_one_chunk(text, model_tokenizer, sizer, capacity, limit, markdown)
    if measured is None:
        sizes = (capacity, overlap, limit)
        measured = _split_segments(
            text, segments, model_tokenizer, sizer, sizes, markdown, deadline
        )
    return [
        Chunk(index=index, start=start, end=end, tokens=tokens, text=text[start:end])
        for index, (start, end, tokens) in enumerate(
            m for m in measured if has_text(text[m[0] : m[1]])
        )
    ]


def _split_segments(
    text: str,
    segments: list[_Span],
    model_tokenizer: Tokenizer,
    sizer: Tokenizer,
    sizes: tuple[int, int, int],
    markdown: bool,
    deadline: float | None,
) -> list[_Measured]:
    """Every segment through the splitter, then the model's counts (the general path)."""
    capacity, overlap, limit = sizes
    spans: list[_Counted] = []
    counted = sizer is model_tokenizer
    for start, end in segments:
        if deadline is not None and time.monotonic() > deadline:
            raise ChunkingTimeout(done=start, total=len(text))
        spans.extend(_spans(text[start:end], sizer, capacity, overlap, markdown, start, counted))
    return _fit_window(text, spans, model_tokenizer, limit, overlap, markdown)


def _as_one_chunk(
    text: str,
    model_tokenizer: Tokenizer,
    sizer: Tokenizer,
    capacity: int,
    limit: int,
    markdown: bool,
) -> list[_Measured] | None:
    """The document as its only chunk when it is one segment that fits whole, else None.

    The splitter would measure its way to that same chunk (three token counts for a short
    document, a dozen for one near the capacity); asked with a count of zero it only trims it,
    as it trims every chunk, and the model counts it once. Half the documents of a typical
    folder fit one chunk (150 of bench_ingest's 300).
    """
    whole = sizer.count(text)
    if whole > capacity:
        return None
    splitter_type = MarkdownSplitter if markdown else TextSplitter
    trimmed = splitter_type.from_callback(_nothing, capacity, trim=True).chunk_indices(text)
    if len(trimmed) != 1:
        return [] if not trimmed else None  # nothing but whitespace: no chunk, as the splitter
    offset, chunk = trimmed[0]
    start, end = offset, offset + len(chunk)
    same = sizer is model_tokenizer and (start, end) == (0, len(text))
    tokens = whole if same else model_tokenizer.count(chunk)
    return [(start, end, tokens)] if tokens <= limit else None


def _nothing(_text: str) -> int:
    return 0


def has_text(text: str) -> bool:
    """Whether `text` has anything to embed: not only whitespace, zero-width, format or control
    characters. The one definition of an empty document or chunk."""
    return any(not char.isspace() and unicodedata.category(char)[0] not in "CZ" for char in text)


class ChunkingTimeout(Exception):
    """Splitting went past its deadline; `done` of `total` characters were split."""

    def __init__(self, *, done: int, total: int) -> None:
        super().__init__(f"chunking stopped at character {done} of {total}")
        self.done = done
        self.total = total


def _segments(text: str, max_run: int, max_segment: int) -> Iterator[_Span]:
    """Spans covering `text` that the splitter can handle in linear time: none longer than
    `max_segment`, and runs of non-space text longer than `max_run` cut into pieces of at most
    `max_run` characters."""
    long_run = re.compile(rf"\S{{{max_run + 1},}}")
    start = 0
    for segment_start, segment_end in _bounded(text, max_segment):
        for run in long_run.finditer(text, segment_start, segment_end):
            for cut in _run_cuts(text, run.start(), run.end(), max_run):
                yield start, cut
                start = cut
        yield start, segment_end
        start = segment_end


def _bounded(text: str, max_segment: int) -> Iterator[_Span]:
    """Spans of at most `max_segment` characters covering `text`, each ending at the strongest
    break in its second half; a hard cut (outside a grapheme) where there is none."""
    start = 0
    while len(text) - start > max_segment:
        limit = start + max_segment
        cut = _last_break(text, start + max_segment // 2, limit)
        if cut is None:
            cut = limit
            while cut > start + 1 and _continues_grapheme(text[cut]):
                cut -= 1
        yield start, cut
        start = cut
    yield start, len(text)


def _last_break(text: str, low: int, high: int) -> int | None:
    """Where the strongest break in text[low:high] ends (its last occurrence), or None."""
    for pattern in _BREAKS:
        last = None
        for last in pattern.finditer(text, low, high):  # noqa: B007  # the last one is wanted
            pass
        if last is not None:
            return last.end()
    return None


def _run_cuts(text: str, start: int, end: int, max_run: int) -> Iterator[int]:
    """Cut points inside text[start:end]: after the last punctuation in the second half of each
    piece when there is one (a sentence or clause end in text without spaces), else at the
    piece's end, never inside a grapheme."""
    while end - start > max_run:
        limit = start + max_run
        piece = text[start + max_run // 2 : limit]
        mark = next((i for i in range(len(piece) - 1, -1, -1) if not piece[i].isalnum()), None)
        cut = limit if mark is None else start + max_run // 2 + mark + 1
        while cut > start + 1 and _continues_grapheme(text[cut]):
            cut -= 1
        yield cut
        start = cut


def checked_sizes(model_tokenizer: Tokenizer, capacity: int | None, overlap: int) -> int:
    """The capacity to use, with both sizes checked (400 otherwise) against the model window."""
    capacity = _validated_capacity(capacity, default_capacity(model_tokenizer))
    _validate_overlap(overlap, capacity)
    return capacity


def _validated_capacity(capacity: int | None, limit: int) -> int:
    if capacity is None:
        return limit
    if not 0 < capacity <= limit:
        raise InvalidRequest(
            f"chunk_capacity must be between 1 and {limit} (the most tokens the embedding "
            f"model accepts per chunk), got {capacity}",
            subject="capacity",
        )
    return capacity


def _validate_overlap(overlap: int, capacity: int) -> None:
    if not 0 <= overlap < capacity:
        raise InvalidRequest(
            f"chunk_overlap must be at least 0 and less than the chunk capacity ({capacity}), "
            f"got {overlap}",
            subject="overlap",
        )


def _continues_grapheme(char: str) -> bool:
    return unicodedata.category(char)[0] == "M" or char in _JOINERS


def _spans(
    text: str,
    sizer: Tokenizer,
    capacity: int,
    overlap: int,
    markdown: bool,
    base: int = 0,
    counted: bool = False,
) -> list[_Counted]:
    """Chunk boundaries as str offsets, shifted by `base` (where `text` sits in the document),
    each with its token count by `sizer` when `counted` (the splitter measured most final
    chunks last, so its cache answers), else None."""
    count: Callable[[str], int] = functools.lru_cache(maxsize=_PROBE_CACHE_SIZE)(sizer.count)
    splitter_type = MarkdownSplitter if markdown else TextSplitter
    splitter = splitter_type.from_callback(count, capacity, overlap=overlap, trim=True)
    # The Python binding reports offsets in characters (str indices), not UTF-8 bytes.
    return [
        (base + offset, base + offset + len(chunk), count(chunk) if counted else None)
        for offset, chunk in splitter.chunk_indices(text)
    ]


def _fit_window(
    text: str,
    spans: list[_Counted],
    model_tokenizer: Tokenizer,
    limit: int,
    overlap: int,
    markdown: bool,
) -> list[_Measured]:
    """Attach model token counts (those the splitter counted with the model are kept),
    re-splitting any chunk the model could not embed whole.

    Only a sizing tokenizer that is thriftier than the model's produces such chunks; the counts
    are needed for every chunk anyway, so checking costs nothing extra.
    """
    measured: list[_Measured] = []
    for start, end, counted in spans:
        tokens = counted if counted is not None else model_tokenizer.count(text[start:end])
        if tokens <= limit:
            measured.append((start, end, tokens))
            continue
        piece = text[start:end]
        for sub_start, sub_end, sub_tokens in _spans(
            piece, model_tokenizer, limit, overlap, markdown, start, counted=True
        ):
            assert sub_tokens is not None  # counted with the model, as asked
            measured.append((sub_start, sub_end, sub_tokens))
    return measured
