"""OpenAI Vector Stores API wire shapes: stores, their files and file batches."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StringConstraints

from app.schemas.chunks import ChunkingStrategy
from app.schemas.common import RequestModel, Text

MAX_PAIRS = 16  # OpenAI: at most 16 metadata or attribute pairs
MAX_BATCH_FILES = 2000  # OpenAI's largest file batch

Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ShortText = Annotated[str, StringConstraints(max_length=512)]
# Strict, bool first: JSON true stays a boolean, 1 stays a number.
AttributeValue = StrictBool | StrictInt | StrictFloat | ShortText
Metadata = Annotated[dict[Key, ShortText], Field(max_length=MAX_PAIRS)]
Attributes = Annotated[dict[Key, AttributeValue], Field(max_length=MAX_PAIRS)]
FileStatus = Literal["in_progress", "completed", "failed", "cancelled"]


class ExpiresAfter(RequestModel):
    anchor: Literal["last_active_at"]
    days: StrictInt = Field(ge=1, le=365)


class StoreCreate(RequestModel):
    name: Text | None = None
    description: Text | None = None
    file_ids: Annotated[list[Text], Field(max_length=MAX_BATCH_FILES)] | None = None
    chunking_strategy: ChunkingStrategy | None = None
    expires_after: ExpiresAfter | None = None
    metadata: Metadata | None = None


class StoreUpdate(RequestModel):
    name: Text | None = None
    expires_after: ExpiresAfter | None = None
    metadata: Metadata | None = None


class FileCounts(BaseModel):
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0


class VectorStore(BaseModel):
    id: str
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: str
    description: str | None
    usage_bytes: int
    file_counts: FileCounts
    status: Literal["expired", "in_progress", "completed"]
    expires_after: ExpiresAfter | None
    expires_at: int | None
    last_active_at: int
    metadata: dict[str, str] | None


class VectorStoreList(BaseModel):
    object: Literal["list"] = "list"
    data: list[VectorStore]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VectorStoreDeleted(BaseModel):
    id: str
    object: Literal["vector_store.deleted"] = "vector_store.deleted"
    deleted: bool = True


class FileCreate(RequestModel):
    file_id: Text
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None


class FileUpdate(RequestModel):
    attributes: Attributes | None


class BatchCreate(RequestModel):
    file_ids: Annotated[list[Text], Field(min_length=1, max_length=MAX_BATCH_FILES)] | None = None
    files: Annotated[list[FileCreate], Field(min_length=1, max_length=MAX_BATCH_FILES)] | None = (
        None
    )
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None


class LastError(BaseModel):
    code: str = Field(
        description="OpenAI's server_error, or the extraction's own code (encrypted_document, "
        "empty_document, document_too_large, ...)."
    )
    message: str


class StaticSizesOut(BaseModel):
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int


class StaticStrategyOut(BaseModel):
    type: Literal["static"] = "static"
    static: StaticSizesOut


class VectorStoreFile(BaseModel):
    id: str
    object: Literal["vector_store.file"] = "vector_store.file"
    created_at: int
    vector_store_id: str
    status: FileStatus
    usage_bytes: int
    last_error: LastError | None
    attributes: dict[str, str | bool | int | float] | None
    chunking_strategy: StaticStrategyOut


class VectorStoreFileList(BaseModel):
    object: Literal["list"] = "list"
    data: list[VectorStoreFile]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VectorStoreFileDeleted(BaseModel):
    id: str
    object: Literal["vector_store.file.deleted"] = "vector_store.file.deleted"
    deleted: bool = True


class FileContent(BaseModel):
    type: Literal["text"] = "text"
    text: str


class FileContentPage(BaseModel):
    object: Literal["vector_store.file_content.page"] = "vector_store.file_content.page"
    data: list[FileContent]
    has_more: bool = False
    next_page: str | None = None


class VectorStoreFileBatch(BaseModel):
    id: str
    object: Literal["vector_store.files_batch"] = "vector_store.files_batch"
    created_at: int
    vector_store_id: str
    status: FileStatus
    file_counts: FileCounts
