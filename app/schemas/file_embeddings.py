"""POST /v1/files/{id}/embeddings: a stored file's chunks with their vectors, in one call."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.chunks import ChunkingOptions
from app.schemas.embeddings import Usage


class FileEmbeddingsRequest(ChunkingOptions):
    encoding_format: Literal["float", "base64"] = "float"


class ChunkEmbedding(BaseModel):
    index: int
    text: str
    start: int
    end: int
    tokens: int
    pages: list[int] | None = Field(description="[first, last] page, 1-based; null: unpaged.")
    headings: list[str] = Field(description="Section path at the chunk, outermost first.")
    ocr_pages: list[int] = Field(
        default_factory=list, description="Those of its pages read by OCR, 1-based."
    )
    embedding: list[float] | str
    cached: bool = Field(description="Whether the vector came from the embedding cache.")


class FileEmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    file_id: str
    filename: str
    model: str
    data: list[ChunkEmbedding]
    usage: Usage
