"""Chunking options as requests give them, turned into the chunk store's parameters."""

from __future__ import annotations

from app.chunking.strategy import SUBJECT, StaticSizes, Strategy
from app.chunking.strategy import strategy_sizes as strategy_sizes
from app.engine.catalog import ModelCatalog
from app.errors import InvalidRequest
from app.schemas.chunks import AutoChunking, ChunkingOptions, ChunkingStrategy
from app.services.pipeline import ChunkParams


def strategy_of(wire: ChunkingStrategy | None) -> Strategy | None:
    """The domain's strategy for OpenAI's `chunking_strategy` object (None: not given)."""
    if wire is None:
        return None
    if isinstance(wire, AutoChunking):
        return "auto"
    return StaticSizes(wire.static.max_chunk_size_tokens, wire.static.chunk_overlap_tokens)


def chunk_params(options: ChunkingOptions, catalog: ModelCatalog) -> ChunkParams:
    """The parameters a request asks for (404 for an unknown model, 400 for sizes the model
    cannot take or for two ways of giving them at once)."""
    model = catalog.get(options.model)
    strategy = strategy_of(options.chunking_strategy)
    if strategy is None:
        capacity, overlap = options.chunk_capacity, options.chunk_overlap
        return ChunkParams(
            model=model, tokenizer=options.tokenizer, capacity=capacity, overlap=overlap
        )
    both = {"chunk_capacity", "chunk_overlap"} & options.model_fields_set
    if both:
        raise InvalidRequest(
            f"Give either chunking_strategy or {' and '.join(sorted(both))}, not both",
            subject=SUBJECT,
            code="conflicting_parameters",
        )
    sized, overlap = strategy_sizes(strategy, model.tokenizer)
    return ChunkParams(model=model, tokenizer=options.tokenizer, capacity=sized, overlap=overlap)
