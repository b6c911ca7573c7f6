from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from app.chunking.splitter import Chunk, default_capacity, has_text, split_text
from app.engine.base import Tokenizer
from app.errors import InvalidRequest
from app.extract.text import decode_text, is_markdown

DOCS = Path(__file__).resolve().parents[1] / "data" / "docs"
DOCUMENTS = ("gpl-3.txt", "fastapi-readme.md")
CAPACITIES = (32, 128, None)
OVERLAPS = (0, 8)
SIZERS = ("model", "cl100k")


class CharTokenizer:
    """One token per character: far hungrier than cl100k, so cl100k-sized chunks overflow it."""

    def __init__(self, window: int, special_tokens: int) -> None:
        self._window = window
        self._special_tokens = special_tokens

    @property
    def window(self) -> int:
        return self._window

    @property
    def special_tokens(self) -> int:
        return self._special_tokens

    @property
    def prefix(self) -> list[int]:
        return [0] * self._special_tokens  # all before the text: where they go does not matter

    @property
    def suffix(self) -> list[int]:
        return []

    def tokenize(self, text: str) -> list[int]:
        return [ord(char) for char in text]

    def count(self, text: str) -> int:
        return len(text)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return "".join(chr(token) for token in tokens)


@dataclass(frozen=True)
class Split:
    text: str
    chunks: list[Chunk]
    capacity: int
    overlap: int
    markdown: bool
    sizer: Tokenizer


def _read(name: str) -> str:
    return decode_text((DOCS / name).read_bytes(), filename=name)


def _assert_in_order(chunks: Sequence[Chunk], overlap: int) -> None:
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    for previous, current in pairwise(chunks):
        assert previous.start <= current.start
        if overlap == 0:
            assert previous.end <= current.start


def _assert_covers(text: str, chunks: Sequence[Chunk], *, exactly_once: bool) -> None:
    coverage = [0] * len(text)
    for chunk in chunks:
        for position in range(chunk.start, chunk.end):
            coverage[position] += 1
    missed = [i for i, char in enumerate(text) if not char.isspace() and coverage[i] == 0]
    assert not missed, f"uncovered characters at {missed[:10]}"
    if exactly_once:
        assert max(coverage) == 1


@pytest.fixture(
    scope="module",
    params=[
        pytest.param((doc, capacity, overlap, sizer), id=f"{doc}-cap{capacity}-ov{overlap}-{sizer}")
        for doc in DOCUMENTS
        for capacity in CAPACITIES
        for overlap in OVERLAPS
        for sizer in SIZERS
    ],
)
def split(request: pytest.FixtureRequest, model_tokenizer: Tokenizer, cl100k: Tokenizer) -> Split:
    name, capacity, overlap, sizer_name = request.param
    text = _read(name)
    sizing = cl100k if sizer_name == "cl100k" else None
    chunks = split_text(
        text=text,
        model_tokenizer=model_tokenizer,
        capacity=capacity,
        overlap=overlap,
        markdown=is_markdown(name),
        sizing_tokenizer=sizing,
    )
    resolved = default_capacity(model_tokenizer) if capacity is None else capacity
    return Split(text, chunks, resolved, overlap, is_markdown(name), sizing or model_tokenizer)


def test_documents_are_long_enough_to_need_many_chunks(split: Split) -> None:
    assert len(split.chunks) > 1


def test_chunks_fit_capacity_and_model_window(split: Split, model_tokenizer: Tokenizer) -> None:
    limit = default_capacity(model_tokenizer)
    for chunk in split.chunks:
        assert split.sizer.count(chunk.text) <= split.capacity
        assert chunk.tokens == model_tokenizer.count(chunk.text) <= limit


def test_chunks_are_in_document_order(split: Split) -> None:
    _assert_in_order(split.chunks, split.overlap)


def test_chunk_text_is_the_trimmed_slice_at_its_offsets(split: Split) -> None:
    for chunk in split.chunks:
        assert chunk.text.strip()
        assert chunk.text == split.text[chunk.start : chunk.end]
        # Markdown chunks keep their first line's indentation (code blocks, nested lists).
        trimmed = chunk.text.strip("\r\n").rstrip() if split.markdown else chunk.text.strip()
        assert chunk.text == trimmed


def test_chunks_cover_all_non_whitespace(split: Split) -> None:
    _assert_covers(split.text, split.chunks, exactly_once=split.overlap == 0)


def test_markdown_chunks_follow_headings(model_tokenizer: Tokenizer) -> None:
    text = _read("fastapi-readme.md")
    chunks = split_text(text=text, model_tokenizer=model_tokenizer, capacity=128, markdown=True)
    assert any(chunk.text.startswith("## ") for chunk in chunks)


def test_offsets_are_character_offsets_for_non_ascii(model_tokenizer: Tokenizer) -> None:
    text = "Grüße aus Köln, 世界 😀 e\u0301tude.\n\n" * 200
    chunks = split_text(text=text, model_tokenizer=model_tokenizer, capacity=16)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
    _assert_covers(text, chunks, exactly_once=True)


def test_resplits_chunks_the_model_cannot_embed(cl100k: Tokenizer) -> None:
    text = _read("gpl-3.txt")
    model = CharTokenizer(window=200, special_tokens=2)
    unfitted = split_text(text=text, model_tokenizer=cl100k, capacity=150)
    assert any(len(chunk.text) > default_capacity(model) for chunk in unfitted)

    chunks = split_text(text=text, model_tokenizer=model, capacity=150, sizing_tokenizer=cl100k)

    assert all(chunk.tokens == len(chunk.text) <= 198 for chunk in chunks)
    assert all(chunk.text == text[chunk.start : chunk.end] for chunk in chunks)
    _assert_in_order(chunks, overlap=0)
    _assert_covers(text, chunks, exactly_once=True)


BLANK = ["", "   ", "\n\t \r\n", "\u200b\u200c\u200d\ufeff", "\x00\x01\x7f\u00ad", "\u2028\u3000"]


@pytest.mark.parametrize("text", BLANK)
def test_blank_text_has_no_chunks(text: str, model_tokenizer: Tokenizer) -> None:
    assert not has_text(text)
    assert split_text(text=text, model_tokenizer=model_tokenizer) == []


@pytest.mark.parametrize("text", ["x", " \u200b.", "世", "😀", "\u0301"])
def test_any_visible_character_is_text(text: str) -> None:
    assert has_text(text)


def test_invisible_stretches_never_become_chunks(model_tokenizer: Tokenizer) -> None:
    text = "Intro.\n\n" + "\u200b" * 5000 + "\n\nOutro."
    chunks = split_text(text=text, model_tokenizer=model_tokenizer, capacity=8)
    assert chunks and all(has_text(chunk.text) for chunk in chunks)
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))


class MeasuringTokenizer:
    """The real tokenizer, counting how many characters the splitter asks it to measure: the
    splitter's work, independent of how fast or busy the machine is."""

    def __init__(self, inner: Tokenizer) -> None:
        self.inner = inner
        self.measured = 0
        self.longest = 0

    @property
    def window(self) -> int:
        return self.inner.window

    @property
    def special_tokens(self) -> int:
        return self.inner.special_tokens

    @property
    def prefix(self) -> Sequence[int]:
        return self.inner.prefix

    @property
    def suffix(self) -> Sequence[int]:
        return self.inner.suffix

    def tokenize(self, text: str) -> list[int]:
        return self.inner.tokenize(text)

    def count(self, text: str) -> int:
        self.measured += len(text)
        self.longest = max(self.longest, len(text))
        return self.inner.count(text)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.inner.detokenize(tokens)


def _work(text: str, model_tokenizer: Tokenizer) -> tuple[int, list[Chunk]]:
    measuring = MeasuringTokenizer(model_tokenizer)
    chunks = split_text(text=text, model_tokenizer=measuring)
    return measuring.measured, chunks


@pytest.mark.parametrize(
    "unit", ["x", "ACGT", "1,", "x\u0301", "中文字"], ids=["x", "fasta", "digits", "comb", "cjk"]
)
def test_runs_without_break_points_cost_linear_work(unit: str, model_tokenizer: Tokenizer) -> None:
    # Deterministic: the characters measured, not seconds. Quadratic work would grow 16x for a
    # 4x longer run (it did: 200 KB of "x" took 5.9 s, 400 KB 23 s); linear grows 4x.
    small_text = unit * (40_000 // len(unit))
    large_text = unit * (160_000 // len(unit))
    small, _ = _work(small_text, model_tokenizer)
    large, chunks = _work(large_text, model_tokenizer)
    assert large < 5 * small
    limit = default_capacity(model_tokenizer)
    assert all(0 < chunk.tokens <= limit for chunk in chunks)
    assert all(chunk.text == large_text[chunk.start : chunk.end] for chunk in chunks)
    _assert_in_order(chunks, overlap=0)
    _assert_covers(large_text, chunks, exactly_once=True)


@pytest.mark.parametrize(
    ("unit", "markdown"),
    [("lorem ipsum dolor sit amet ", False), ("lorem ipsum dolor sit amet ", True)],
    ids=["words", "words-markdown"],
)
def test_the_splitter_sees_bounded_segments_whatever_the_characters(
    unit: str, markdown: bool, model_tokenizer: Tokenizer
) -> None:
    # The cost is inside the Rust splitter, quadratic in what it is given: a line of words with
    # no break is one "sentence" (1 MB 2.4 s, 8 MB 99 s, measured characters only linear). So
    # what it is given is bounded: 64 characters per token of capacity, at least 16384.
    text = unit * (1_000_000 // len(unit))
    measuring = MeasuringTokenizer(model_tokenizer)
    chunks = split_text(text=text, model_tokenizer=measuring, markdown=markdown)
    assert measuring.longest <= 64 * default_capacity(model_tokenizer)
    assert measuring.measured < 8 * len(
        text
    )  # a constant factor: each segment measured a few times
    assert all(chunk.text == text[chunk.start : chunk.end] for chunk in chunks)
    # Cut between words, never inside one.
    assert all(c.start == 0 or text[c.start - 1] == " " for c in chunks)
    assert all(c.end == len(text) or text[c.end] == " " for c in chunks)
    _assert_in_order(chunks, overlap=0)
    _assert_covers(text, chunks, exactly_once=True)
    # Segment ends cost a partly filled chunk each, no more: about 16 chunks per segment.
    full = default_capacity(model_tokenizer)
    assert sum(chunk.tokens for chunk in chunks) / len(chunks) > 0.9 * full


def test_long_runs_are_cut_at_punctuation_and_never_inside_a_grapheme(
    model_tokenizer: Tokenizer,
) -> None:
    sentence = "这是一个没有空格的中文句子" * 3 + "。"
    text = sentence * 2000
    _, chunks = _work(text, model_tokenizer)
    assert all(chunk.text.endswith("。") for chunk in chunks[:-1])
    accented = "e\u0301" * 20_000
    _, chunks = _work(accented, model_tokenizer)
    assert len(chunks) > 1 and all(chunk.text.startswith("e") for chunk in chunks)


def test_default_capacity_leaves_room_for_special_tokens() -> None:
    assert default_capacity(CharTokenizer(window=512, special_tokens=2)) == 510


def test_capacity_may_equal_the_model_limit(model_tokenizer: Tokenizer) -> None:
    limit = default_capacity(model_tokenizer)
    assert split_text(text="Hello.", model_tokenizer=model_tokenizer, capacity=limit)


@pytest.mark.parametrize("excess", [-1, 0, 1, 1000])
def test_invalid_capacity_names_the_limit(excess: int, model_tokenizer: Tokenizer) -> None:
    limit = default_capacity(model_tokenizer)
    capacity = limit + excess if excess > 0 else excess
    with pytest.raises(InvalidRequest) as excinfo:
        split_text(text="Hello.", model_tokenizer=model_tokenizer, capacity=capacity)
    assert excinfo.value.subject == "capacity"
    assert str(limit) in excinfo.value.message


@pytest.mark.parametrize(
    ("capacity", "overlap"), [(32, -1), (32, 32), (32, 33), (None, 10_000), (1, 1)]
)
def test_invalid_overlap(capacity: int | None, overlap: int, model_tokenizer: Tokenizer) -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        split_text(
            text="Hello.", model_tokenizer=model_tokenizer, capacity=capacity, overlap=overlap
        )
    assert excinfo.value.subject == "overlap"
