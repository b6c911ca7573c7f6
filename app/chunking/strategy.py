"""OpenAI's chunking strategies (`auto`, `static`) as chunk capacity and overlap for a model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.chunking.splitter import default_capacity
from app.engine.base import Tokenizer
from app.errors import InvalidRequest

SUBJECT = "strategy"
# "auto" overlaps a quarter of each chunk: a passage cut at a chunk boundary still appears
# whole in one of the two chunks, for a third more chunks (OpenAI's auto, 800 tokens with 400
# overlapped, doubles them). Its 800 tokens exceed small models' windows, so auto takes the
# model's own chunk capacity instead (510 for all-MiniLM-L6-v2).
AUTO_OVERLAP_FRACTION = 4

# Whose tokens a chunk capacity counts: the model's, or cl100k_base's (as LlamaEdge sizes).
SizingTokenizer = Literal["model", "cl100k_base"]


@dataclass(frozen=True)
class StaticSizes:
    """A static strategy: at most `max_tokens` per chunk, `overlap_tokens` shared."""

    max_tokens: int
    overlap_tokens: int


Strategy = Literal["auto"] | StaticSizes


def strategy_sizes(strategy: Strategy, model_tokenizer: Tokenizer) -> tuple[int, int]:
    """(chunk capacity, overlap) of `strategy` for the model; 400 when it cannot take them."""
    limit = default_capacity(model_tokenizer)
    if strategy == "auto":
        return limit, limit // AUTO_OVERLAP_FRACTION
    assert isinstance(strategy, StaticSizes)
    if strategy.max_tokens > limit:
        raise InvalidRequest(
            f"chunking_strategy.static.max_chunk_size_tokens is {strategy.max_tokens}, "
            f"but this embedding model takes at most {limit} tokens per chunk",
            subject=SUBJECT,
        )
    if strategy.overlap_tokens > strategy.max_tokens // 2:
        raise InvalidRequest(
            "chunking_strategy.static.chunk_overlap_tokens must not exceed half of "
            f"max_chunk_size_tokens ({strategy.max_tokens // 2}), "
            f"got {strategy.overlap_tokens}",
            subject=SUBJECT,
        )
    return strategy.max_tokens, strategy.overlap_tokens
