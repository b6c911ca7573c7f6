"""Database tables. Wire shapes live in app/schemas; these are storage only."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
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


class EmbeddingCacheRow(Base):
    """Cached vectors keyed by model identity (name + model file hash) and input text hash."""

    __tablename__ = "embedding_cache"

    model_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
