"""The one-chunk path of split_text (app/chunking/splitter.py): a document that fits whole gives
exactly the chunk the full splitter gives, and the splitter's own counts are the model's."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.chunking import splitter
from app.chunking.splitter import default_capacity, split_text
from app.engine.base import Tokenizer
from app.extract.text import decode_text

DOCS = Path(__file__).resolve().parents[1] / "data" / "docs"
# Leading blank lines and an indented first line, which the two splitters trim differently.
PADDINGS = [("", ""), ("\n\n  ", "  \n\n"), ("\n\n    ", "\n")]


def _prefixes(name: str) -> list[str]:
    """The document cut after each of its lines and sentences: many lengths, some just under
    and some just over a chunk capacity, with paragraphs, lists and headings cut anywhere."""
    text = decode_text((DOCS / name).read_bytes(), filename=name)
    ends = [i for i, char in enumerate(text) if char == "\n" or text.startswith(". ", i - 1)]
    ends.append(len(text))
    return [text[:end] for end in ends if text[:end].strip()]


def _full_splitter(
    text: str, tokenizer: Tokenizer, sizer: Tokenizer, capacity: int, overlap: int, markdown: bool
) -> list[tuple[int, int, int]]:
    """The general path over the document as one segment, as split_text took before."""
    sizes = (capacity, overlap, default_capacity(tokenizer))
    measured = splitter._split_segments(
        text, [(0, len(text))], tokenizer, sizer, sizes, markdown, None
    )
    return [m for m in measured if splitter.has_text(text[m[0] : m[1]])]


@pytest.mark.parametrize("name", ["paris.txt", "fastapi-readme.md", "gpl-3.txt", "SOURCES.md"])
@pytest.mark.parametrize(("capacity", "overlap"), [(None, 0), (None, 127), (128, 32), (48, 0)])
@pytest.mark.parametrize("sizer_name", ["model", "cl100k"])
def test_a_document_that_fits_whole_gives_the_full_splitters_chunk(
    name: str,
    capacity: int | None,
    overlap: int,
    sizer_name: str,
    model_tokenizer: Tokenizer,
    cl100k: Tokenizer,
) -> None:
    sizer = cl100k if sizer_name == "cl100k" else model_tokenizer
    resolved = capacity or default_capacity(model_tokenizer)
    markdown = name.endswith(".md")
    fitted = 0
    for prefix in _prefixes(name):
        if sizer.count(prefix) > resolved + 64:
            break  # longer prefixes only grow
        for before, after in PADDINGS:
            text = f"{before}{prefix}{after}"
            if sizer.count(text) > resolved:
                continue
            chunks = split_text(
                text=text,
                model_tokenizer=model_tokenizer,
                capacity=capacity,
                overlap=overlap,
                markdown=markdown,
                sizing_tokenizer=None if sizer is model_tokenizer else sizer,
            )
            expected = _full_splitter(text, model_tokenizer, sizer, resolved, overlap, markdown)
            assert [(c.start, c.end, c.tokens) for c in chunks] == expected, text[:80]
            # One chunk, unless cl100k let through more than the model can embed (re-split).
            fitted += len(chunks) == 1
    assert fitted >= 3  # the path was taken, on several documents of this kind


@pytest.mark.parametrize("name", ["fastapi-readme.md", "gpl-3.txt"])
def test_chunk_counts_kept_from_the_splitter_are_the_models(
    name: str, model_tokenizer: Tokenizer
) -> None:
    text = decode_text((DOCS / name).read_bytes(), filename=name)
    for capacity, overlap in [(None, 0), (100, 25)]:
        chunks = split_text(
            text=text,
            model_tokenizer=model_tokenizer,
            capacity=capacity,
            overlap=overlap,
            markdown=name.endswith(".md"),
        )
        assert len(chunks) > 1
        assert [c.tokens for c in chunks] == [model_tokenizer.count(c.text) for c in chunks]


def test_a_document_over_the_capacity_is_not_one_chunk(model_tokenizer: Tokenizer) -> None:
    text = "word " * 600
    assert splitter._as_one_chunk(text, model_tokenizer, model_tokenizer, 510, 510, False) is None
    assert len(split_text(text=text, model_tokenizer=model_tokenizer)) == 2
