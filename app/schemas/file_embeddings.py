"""POST /v1/files/{id}/embeddings: a stored file's chunks with their vectors, in one call."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from app.schemas.chunks import SizingTokenizer
from app.schemas.common import Text
from app.schemas.embeddings import Usage


class FileEmbeddingsRequest(BaseModel):
    model: Text | None = Field(default=None, description="Model name or alias.")
    chunk_capacity: StrictInt | None = Field(
        default=None, description="As in /v1/chunks.", json_schema_extra={"minimum": 1}
    )
    chunk_overlap: StrictInt = Field(
        default=0, description="As in /v1/chunks.", json_schema_extra={"minimum": 0}
    )
    tokenizer: SizingTokenizer = "model"
    encoding_format: Literal["float", "base64"] = "float"


class ChunkEmbedding(BaseModel):
    index: int
    text: str
    start: int
    end: int
    tokens: int
    embedding: list[float] | str
    cached: bool = Field(description="Whether the vector came from the embedding cache.")


class FileEmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    file_id: str
    filename: str
    model: str
    data: list[ChunkEmbedding]
    usage: Usage
