"""The one file → chunks → vectors pipeline. The server, `ragprep ingest` and the Ray actors
all run these steps; they differ only in where the document comes from and whether vectors
pass through the embedding cache."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import anyio
import numpy as np
import numpy.typing as npt

from app.chunking.provenance import Locator
from app.chunking.splitter import Chunk, split_text
from app.chunking.strategy import SizingTokenizer
from app.engine.base import Tokenizer
from app.engine.catalog import LoadedModel
from app.engine.vectors import shape
from app.extract.base import Document
from app.services.embedding_cache import CachedVectors
from app.services.embeddings import tokenize_inputs

# Chunks embedded per step: big enough to fill several batches, small enough to stream early.
STEP = 64


@dataclass(frozen=True)
class ChunkParams:
    """How a file is chunked: the model whose tokenizer counts, and the sizes."""

    model: LoadedModel
    tokenizer: SizingTokenizer
    capacity: int | None
    overlap: int


@dataclass(frozen=True)
class EmbeddedChunk:
    chunk: Chunk
    vector: npt.NDArray[np.float32]  # shaped: normalized as the model says
    cached: bool


# Embeds token sequences with the model: its engine, or the embedding cache in front of it.
EmbedSequences = Callable[[list[list[int]]], Awaitable[CachedVectors]]


def engine_embedder(model: LoadedModel) -> EmbedSequences:
    """Straight to the model's engine, no cache (Ray actors keep no database)."""

    async def embed(sequences: list[list[int]]) -> CachedVectors:
        vectors = await model.engine.embed(sequences)
        return CachedVectors(vectors, np.zeros(len(sequences), dtype=np.bool_))

    return embed


def chunk_document(
    document: Document,
    params: ChunkParams,
    capacity: int,
    sizer: Tokenizer | None,
    deadline: float | None = None,
) -> list[Chunk]:
    """Blocking: the document's chunks, each placed on its pages and under its section path."""
    chunks = split_text(
        text=document.text,
        model_tokenizer=params.model.tokenizer,
        capacity=capacity,
        overlap=params.overlap,
        markdown=document.markdown,
        sizing_tokenizer=sizer,
        deadline=deadline,
    )
    locator = Locator(document)
    placed = []
    for chunk in chunks:
        where = locator.locate(chunk.start, chunk.end)
        placed.append(
            dataclasses.replace(
                chunk, pages=where.pages, headings=where.headings, ocr_pages=where.ocr_pages
            )
        )
    return placed


@dataclass(frozen=True)
class ChunkEmbedder:
    """Chunks to vectors with one model, a step of chunks at a time."""

    model: LoadedModel
    cl100k: Tokenizer
    embed: EmbedSequences

    async def steps(self, chunks: list[Chunk]) -> AsyncIterator[list[EmbeddedChunk]]:
        """Embedded chunks in document order, STEP at a time."""
        for start in range(0, len(chunks), STEP):
            yield await self.step(chunks[start : start + STEP])

    async def step(self, chunks: list[Chunk]) -> list[EmbeddedChunk]:
        model = self.model
        texts: list[str | list[int]] = [c.text for c in chunks]
        prepared = await anyio.to_thread.run_sync(
            lambda: tokenize_inputs(texts, model=model, cl100k=self.cl100k, truncate=False)
        )
        result = await self.embed(prepared.sequences)
        vectors = shape(result.vectors, normalize=model.spec.normalize, dimensions=None)
        return [
            EmbeddedChunk(chunk, vector, bool(hit))
            for chunk, vector, hit in zip(chunks, vectors, result.hits, strict=True)
        ]


def billed_tokens(model: LoadedModel, embedded: list[EmbeddedChunk]) -> tuple[int, int]:
    """(tokens, cached tokens) as /v1/embeddings bills them: each chunk's tokens plus the
    special tokens the model adds."""
    specials = model.tokenizer.special_tokens
    billed = [item.chunk.tokens + specials for item in embedded]
    cached = sum(b for b, item in zip(billed, embedded, strict=True) if item.cached)
    return sum(billed), cached
