"""/v1/chunks wire shapes: LlamaEdge's `{id, filename, chunks}` plus how the chunks were made."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt

from app.chunking.strategy import SizingTokenizer
from app.schemas.common import RequestModel, Text

# OpenAI's bounds for a static chunking strategy; the model window may lower the maximum.
STATIC_MIN_TOKENS = 100
STATIC_MAX_TOKENS = 4096


class AutoChunking(RequestModel):
    """OpenAI's default strategy; here: the model's full chunk capacity, a quarter overlapped."""

    type: Literal["auto"]


class StaticSizes(RequestModel):
    max_chunk_size_tokens: StrictInt = Field(ge=STATIC_MIN_TOKENS, le=STATIC_MAX_TOKENS)
    chunk_overlap_tokens: StrictInt = Field(
        ge=0, description="At most half of max_chunk_size_tokens."
    )


class StaticChunking(RequestModel):
    type: Literal["static"]
    static: StaticSizes


ChunkingStrategy = Annotated[AutoChunking | StaticChunking, Field(discriminator="type")]


class ChunkingOptions(RequestModel):
    """How to chunk a stored file: shared by /v1/chunks and /v1/files/{id}/embeddings."""

    chunk_capacity: StrictInt | None = Field(
        default=None,
        description="Most tokens per chunk; default: the model window minus its special tokens.",
        json_schema_extra={"minimum": 1},  # documented only: the 400 names the model's maximum
    )
    chunk_overlap: StrictInt = Field(
        default=0,
        description="Tokens shared by consecutive chunks (less than the capacity).",
        json_schema_extra={"minimum": 0},
    )
    chunking_strategy: ChunkingStrategy | None = Field(
        default=None,
        description="OpenAI's form of chunk_capacity/chunk_overlap (give one or the other). "
        "auto: the model's chunk capacity with a quarter of it overlapped; static: "
        "max_chunk_size_tokens 100..4096 (at most the model's capacity) and "
        "chunk_overlap_tokens up to half of it.",
    )
    model: Text | None = Field(default=None, description="Embedding model whose tokenizer sizes.")
    tokenizer: SizingTokenizer = Field(
        default="model",
        description="Count capacity in the model's tokens, or in cl100k_base (as LlamaEdge).",
    )


class ChunksRequest(ChunkingOptions):
    id: Text = Field(description="Id of a stored file (from POST /v1/files).")
    filename: Text | None = Field(default=None, description="If given, must match the file.")


class ChunkDetail(BaseModel):
    index: int
    start: int = Field(
        description="Offset of the chunk in the extracted text (GET /v1/files/{id}/text), "
        "in Unicode code points."
    )
    end: int
    tokens: int = Field(description="Model tokens, special tokens excluded.")
    pages: list[int] | None = Field(
        description="[first, last] page of the chunk, 1-based; null for unpaged formats."
    )
    headings: list[str] = Field(
        description="Section path at the chunk's start, outermost first (the first section in "
        "the chunk if it starts before any heading); empty when the document has none."
    )
    ocr_pages: list[int] = Field(
        default_factory=list,
        description="Those of the chunk's pages whose text was read by OCR (scanned PDF pages, "
        "image files), 1-based; empty when none was.",
    )


class ChunksResponse(BaseModel):
    id: str
    filename: str
    chunks: list[str]
    model: str
    tokenizer: SizingTokenizer
    chunk_capacity: int
    chunk_overlap: int
    chunk_details: list[ChunkDetail]
