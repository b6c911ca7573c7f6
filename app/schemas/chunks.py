"""/v1/chunks wire shapes: LlamaEdge's `{id, filename, chunks}` plus how the chunks were made."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from app.schemas.common import RequestModel, Text

SizingTokenizer = Literal["model", "cl100k_base"]


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
    start: int = Field(description="Character offset of the chunk in the decoded text.")
    end: int
    tokens: int = Field(description="Model tokens, special tokens excluded.")


class ChunksResponse(BaseModel):
    id: str
    filename: str
    chunks: list[str]
    model: str
    tokenizer: SizingTokenizer
    chunk_capacity: int
    chunk_overlap: int
    chunk_details: list[ChunkDetail]
