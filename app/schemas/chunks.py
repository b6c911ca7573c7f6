"""/v1/chunks wire shapes: LlamaEdge's `{id, filename, chunks}` plus how the chunks were made."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

SizingTokenizer = Literal["model", "cl100k_base"]


class ChunksRequest(BaseModel):
    id: str = Field(description="Id of a stored file (from POST /v1/files).")
    filename: str | None = Field(default=None, description="If given, must match the file.")
    chunk_capacity: int | None = Field(
        default=None,
        description="Most tokens per chunk; default: the model window minus its special tokens.",
    )
    chunk_overlap: int = Field(default=0, description="Tokens shared by consecutive chunks.")
    model: str | None = Field(default=None, description="Embedding model whose tokenizer sizes.")
    tokenizer: SizingTokenizer = Field(
        default="model",
        description="Count capacity in the model's tokens, or in cl100k_base (as LlamaEdge).",
    )


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
