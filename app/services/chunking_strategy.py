"""OpenAI's `chunking_strategy` mapped onto ragprep's chunk_capacity and chunk_overlap."""

from __future__ import annotations

from app.engine.base import Tokenizer
from app.errors import InvalidRequest
from app.schemas.chunks import AutoChunking, ChunkingOptions
from app.services.chunking import default_capacity

PARAM = "chunking_strategy"
# "auto" overlaps a quarter of each chunk: a passage cut at a chunk boundary still appears
# whole in one of the two chunks, for a third more chunks (OpenAI's auto, 800 tokens with 400
# overlapped, doubles them). Its 800 tokens exceed small models' windows, so auto takes the
# model's own chunk capacity instead (510 for all-MiniLM-L6-v2).
AUTO_OVERLAP_FRACTION = 4


def sizes_of(options: ChunkingOptions, model_tokenizer: Tokenizer) -> tuple[int | None, int]:
    """(chunk capacity or None for the model default, overlap) that the request asks for."""
    strategy = options.chunking_strategy
    if strategy is None:
        return options.chunk_capacity, options.chunk_overlap
    both = {"chunk_capacity", "chunk_overlap"} & options.model_fields_set
    if both:
        raise InvalidRequest(
            f"Give either chunking_strategy or {' and '.join(sorted(both))}, not both",
            param=PARAM,
            code="conflicting_parameters",
        )
    limit = default_capacity(model_tokenizer)
    if isinstance(strategy, AutoChunking):
        return limit, limit // AUTO_OVERLAP_FRACTION
    sizes = strategy.static
    if sizes.max_chunk_size_tokens > limit:
        raise InvalidRequest(
            f"chunking_strategy.static.max_chunk_size_tokens is {sizes.max_chunk_size_tokens}, "
            f"but this embedding model takes at most {limit} tokens per chunk",
            param=PARAM,
        )
    if sizes.chunk_overlap_tokens > sizes.max_chunk_size_tokens // 2:
        raise InvalidRequest(
            "chunking_strategy.static.chunk_overlap_tokens must not exceed half of "
            f"max_chunk_size_tokens ({sizes.max_chunk_size_tokens // 2}), "
            f"got {sizes.chunk_overlap_tokens}",
            param=PARAM,
        )
    return sizes.max_chunk_size_tokens, sizes.chunk_overlap_tokens
