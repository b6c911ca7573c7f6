"""Database tables. Wire shapes live in app/schemas; these are storage only."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class FileRow(Base):
    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(64), index=True)
    # 64-bit (migration 0003): PostgreSQL's INTEGER is 32-bit.
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    # created_at has one-second resolution; listing and paging order by (created_ns, id).
    created_ns: Mapped[int] = mapped_column(BigInteger, index=True)


class ChunkSetRow(Base):
    """One chunking of one file with one set of parameters; its chunks hang off it."""

    __tablename__ = "chunk_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    tokenizer: Mapped[str] = mapped_column(String(64))
    chunk_capacity: Mapped[int] = mapped_column(Integer)
    chunk_overlap: Mapped[int] = mapped_column(Integer)
    # The extractor version that produced the text: a new extractor re-chunks.
    extractor: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index(
            "ux_chunk_sets_params",
            "file_id",
            "model",
            "tokenizer",
            "chunk_capacity",
            "chunk_overlap",
            "extractor",
            unique=True,
        ),
    )


class ChunkRow(Base):
    __tablename__ = "chunks"

    set_id: Mapped[int] = mapped_column(
        ForeignKey("chunk_sets.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # Provenance, stored with the chunk so reading a chunk set never loads its document.
    page_first: Mapped[int | None] = mapped_column(Integer)  # 1-based; NULL: unpaged format
    page_last: Mapped[int | None] = mapped_column(Integer)
    headings: Mapped[str] = mapped_column(Text)  # JSON list of titles, outermost first
    ocr_pages: Mapped[str] = mapped_column(Text, server_default="[]")  # JSON: pages OCR read


class DocumentRow(Base):
    """A file's extracted text and structure, per content hash, name suffix (the name decides
    between text and Markdown, say) and extractor version: files with the same bytes and suffix
    share it, and chunking at other sizes never parses the file again."""

    __tablename__ = "documents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    suffix: Mapped[str] = mapped_column(String(255), primary_key=True)  # lower case, no dot
    extractor: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(200))
    markdown: Mapped[bool] = mapped_column(Boolean)
    text: Mapped[str] = mapped_column(Text)
    pages: Mapped[str] = mapped_column(Text)  # JSON [[start, end], ...], str offsets per page
    headings: Mapped[str] = mapped_column(Text)  # JSON [[start, level, title], ...]
    ocr_pages: Mapped[str] = mapped_column(Text, server_default="[]")  # JSON [page, ...], 1-based
    created_ns: Mapped[int] = mapped_column(BigInteger)


class FailedDocumentRow(Base):
    """An extraction that failed on the document's own bytes, under given limits: the same bytes
    posted again (on any replica, after a restart) get the same 4xx at once instead of another
    worker-minute. Keyed like DocumentRow plus a digest of the limits it failed under, so raised
    limits try again; the oldest rows go past RAGPREP_FAILED_DOCUMENTS."""

    __tablename__ = "failed_documents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    suffix: Mapped[str] = mapped_column(String(255), primary_key=True)
    extractor: Mapped[str] = mapped_column(String(64), primary_key=True)
    limits: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of ExtractLimits
    error: Mapped[str] = mapped_column(String(64))  # the DomainError subclass's name
    code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)  # the name the message quotes
    created_ns: Mapped[int] = mapped_column(BigInteger, index=True)


class EmbeddingCacheRow(Base):
    """Cached vectors keyed by model identity (name + model file hash) and input text hash."""

    __tablename__ = "embedding_cache"

    model_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class VectorStoreRow(Base):
    """An OpenAI vector store: a named set of files whose chunks are searchable together."""

    __tablename__ = "vector_stores"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    metadata_json: Mapped[str | None] = mapped_column(Text)  # JSON object of strings, or NULL
    # The model whose vectors the store holds (its name; the identity pins the file's hash).
    model: Mapped[str] = mapped_column(String(200))
    expires_after_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    last_active_at: Mapped[int] = mapped_column(BigInteger)
    # Bumped in the transaction that adds or removes chunks: each replica's in-memory vector
    # matrix compares it on every search, so a search after indexing sees the new chunks.
    index_version: Mapped[int] = mapped_column(BigInteger, default=0)


class VectorStoreFileRow(Base):
    """A file in a store; also the store's indexing job (`job`: queued, running or NULL)."""

    __tablename__ = "vector_store_files"

    store_id: Mapped[str] = mapped_column(
        ForeignKey("vector_stores.id", ondelete="CASCADE"), primary_key=True
    )
    # Deleting the file (DELETE /v1/files/{id}) takes it out of every store.
    file_id: Mapped[str] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # in_progress|completed|failed|cancelled
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    attributes_json: Mapped[str | None] = mapped_column(Text)
    chunk_capacity: Mapped[int] = mapped_column(Integer)
    chunk_overlap: Mapped[int] = mapped_column(Integer)
    usage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    job: Mapped[str | None] = mapped_column(String(16), index=True)
    job_owner: Mapped[str | None] = mapped_column(String(64))
    job_claimed_ns: Mapped[int | None] = mapped_column(BigInteger)


class VectorStoreFileBatchRow(Base):
    __tablename__ = "vector_store_file_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(
        ForeignKey("vector_stores.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class VectorStoreChunkRow(Base):
    """One searchable chunk: text for BM25 (analysed into in-memory postings per store,
    app/services/vector_stores/bm25.py), its vector (little-endian float32) for dense search,
    and its provenance."""

    __tablename__ = "vector_store_chunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    store_id: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[str] = mapped_column(String(64))
    chunk_index: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    page_first: Mapped[int | None] = mapped_column(Integer)
    page_last: Mapped[int | None] = mapped_column(Integer)
    headings: Mapped[str] = mapped_column(Text)
    vector: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        ForeignKeyConstraint(
            ["store_id", "file_id"],
            ["vector_store_files.store_id", "vector_store_files.file_id"],
            ondelete="CASCADE",
        ),
        Index("ix_vector_store_chunks_store_file", "store_id", "file_id", "chunk_index"),
        # Ids are never given again (SQLite would reuse the highest once its row is gone): the
        # in-memory indexes tell chunks apart by id alone (migration 0007m).
        {"sqlite_autoincrement": True},
    )
