"""Service settings: one pydantic-settings class, read from `RAGPREP_*` environment variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024

# Read as "a,b,c" (or a JSON list) rather than pydantic-settings' JSON-only list parsing.
CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Everything the service can be configured with. Each field maps to `RAGPREP_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="RAGPREP_", extra="ignore")

    storage_dir: Path = Field(
        default=Path("storage"),
        description="Directory for runtime data: uploaded blobs and the SQLite database.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///PATH (default "
        "<storage_dir>/ragprep.db) or postgresql+asyncpg://USER:PASSWORD@HOST/DB.",
    )
    models_dir: Path = Field(
        default=Path("models"),
        description="Model registry: GGUF files, LocalAI-style YAML configs, HF model folders.",
    )
    orphan_grace_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="With PostgreSQL (replicas sharing storage): start-up sweeps only uploads "
        "and unreferenced blobs untouched this long.",
    )
    max_upload_bytes: int = Field(
        default=512 * MIB, gt=0, description="Largest accepted upload, in bytes (larger: 413)."
    )
    default_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="Model used when a request names none and several models are loaded.",
    )
    prepare_default_model: bool = Field(
        default=True,
        description="Build the default GGUF from the packaged weights at start-up if missing.",
    )
    default_weight_type: Literal["f16", "bf16", "f32"] | None = Field(
        default=None,
        description="Pin the default model's GGUF weight type (f16, bf16 or f32), over its "
        "YAML's `weight_type`; unset: `models prepare` measures them and keeps the fastest "
        "that meets its fidelity bound (app/registry/fidelity.py).",
    )
    default_engine: Literal["llama", "openvino-bf16", "openvino-f32"] | None = Field(
        default=None,
        description="Pin the engine of the default model (when its YAML leaves the choice to "
        "`models prepare`, backend: sentencetransformers): llama (llama.cpp on the GGUF), "
        "openvino-bf16 or openvino-f32; unset: prepare measures them and keeps the fastest that "
        "meets its fidelity bound. The choice is stamped and kept until the GGUF is rebuilt.",
    )
    # Measured (issue 12, 2-core EPYC): two contexts of one thread each decode 6.2-6.7k tokens/s
    # against 4.2-4.6k for one context of two threads; ggml's per-op thread sync dominates at
    # MiniLM's size, so independent contexts scale better than threads within one.
    workers: int = Field(
        default=0,
        ge=0,
        description="Decode contexts (one worker thread each) per model; 0: one per CPU core.",
    )
    threads: int = Field(
        default=0,
        ge=0,
        description="Threads per decode context (llama.cpp) or per CPU stream (OpenVINO); 0: CPU "
        "cores divided by workers.",
    )
    # Measured (benchmarks/bench_embeddings.py): BERT attention spans the whole ubatch, so
    # smaller batches are faster; one full window (512 for MiniLM) beat 1024, 2048 and 4096.
    batch_tokens: int = Field(
        default=512,
        gt=0,
        description="Token budget of one embedding batch (never below one full-window sequence).",
    )
    queue_size: int = Field(
        default=8192,
        gt=0,
        description="Most inputs waiting for the embedding workers; beyond it requests get 429.",
    )
    # ~40 s of work at the measured 6-7k tokens/s: a backlog past that is refused at once with
    # 429 and a Retry-After, instead of growing while clients time out.
    queue_tokens: int = Field(
        default=262_144,
        gt=0,
        description="Most tokens waiting for the embedding workers; beyond it requests get 429.",
    )
    embedding_cache: bool = Field(
        default=True,
        description="Reuse stored vectors for inputs already embedded by the same model file.",
    )
    max_inputs: int = Field(
        default=2048, gt=0, description="Most inputs in one /v1/embeddings request."
    )
    max_request_tokens: int = Field(
        default=300_000,
        gt=0,
        description="Most tokens, all inputs together, in one /v1/embeddings request, and most "
        "ids in one /v1/detokenize request (else 400).",
    )
    extract_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds one document's extraction (PDF, HTML, DOCX) may take (else 422).",
    )
    extract_max_unpacked_bytes: int = Field(
        default=256 * MIB,
        gt=0,
        description="Most bytes a DOCX (zip) may inflate to; larger, e.g. zip bombs: 413.",
    )
    # The worker's time and memory caps bound its work, not the size of what it sends back: a
    # 404-byte ODT asking for 3 x 10**8 spaces became 300 MB of text in the server (issue 24).
    max_extracted_chars: int = Field(
        default=0,
        ge=0,
        description="Most characters of text one document may extract to, counted as the text "
        "is built (else 413 document_too_large); 0: a sixteenth of max_upload_bytes.",
    )
    extract_workers: int = Field(
        default=2,
        gt=0,
        description="Extraction worker processes: documents extracted at once, so one slow "
        "document does not hold the others.",
    )
    failed_documents: int = Field(
        default=1024,
        ge=0,
        description="Failed extractions remembered (by content hash and limits) in the database, "
        "answered at once when posted again on any replica; 0: none.",
    )
    chunk_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds the splitting of one stored file may take (else 422 "
        "chunking_timeout).",
    )
    ocr: bool = Field(
        default=True,
        description="Read PDF pages without a text layer and PNG/JPEG/TIFF files by OCR "
        "(Tesseract); false: such PDFs get 422 no_text_layer and images 415.",
    )
    ocr_dpi: int = Field(
        default=300, ge=72, le=600, description="Resolution PDF pages are rendered at for OCR."
    )
    ocr_languages: str = Field(
        default="eng",
        pattern=r"^[A-Za-z_]+(\+[A-Za-z_]+)*$",
        description="Tesseract languages, e.g. eng or eng+deu (each needs tesseract-ocr-LANG).",
    )
    ocr_threads: int = Field(
        default=2,
        ge=1,
        description="Pages OCR'd at once per extraction worker, one tesseract process each.",
    )
    max_json_bytes: int = Field(
        default=16 * MIB,
        gt=0,
        description="Largest request body of every route but uploads, in bytes (larger: 413).",
    )
    api_keys: CommaList = Field(
        default_factory=list,
        repr=False,
        description="Comma-separated API keys; with any key set, /v1 routes need a Bearer key.",
    )
    api_key_file: Path | None = Field(
        default=None,
        description="File of API keys, one per line (blank lines and # comments ignored).",
    )
    cors_origins: CommaList = Field(
        default_factory=list,
        description="Comma-separated origins allowed by CORS; empty: no CORS headers at all.",
    )

    index_workers: int = Field(
        default=2,
        ge=1,
        description="Vector store files indexed at once by this process (background workers).",
    )
    vector_index_min_chunks: int = Field(
        default=20_000,
        ge=1,
        description="A vector store with this many chunks or more is searched through an HNSW "
        "graph (hnswlib) whose candidates are rescored exactly; smaller stores, and filters "
        "letting fewer chunks through, are searched exactly (measured faster there).",
    )
    index_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A vector store file whose indexing replica stopped renewing its claim this "
        "long (it died) is indexed again by another.",
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines of `ragprep serve`: text, or json (one JSON object per line).",
    )
    body_read_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a request body may go without a byte arriving (then 408).",
    )
    header_read_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client may take to send a request's line and headers (`serve`).",
    )
    keep_alive_timeout: int = Field(
        default=5,
        gt=0,
        description="Seconds an idle keep-alive connection is kept open (`ragprep serve`).",
    )
    max_header_bytes: int = Field(
        default=64 * 1024,
        gt=0,
        description="Largest request head (request line and headers) in bytes (`ragprep serve`).",
    )
    shutdown_timeout: int = Field(
        default=30,
        gt=0,
        description="Seconds in-flight requests get to finish after SIGTERM; then cut with 503.",
    )

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            items = json.loads(text) if text.startswith("[") else text.split(",")
            return [str(item).strip() for item in items if str(item).strip()]
        return value

    @model_validator(mode="after")
    def _default_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.storage_dir.resolve() / 'ragprep.db'}"
        return self

    @property
    def extracted_chars_limit(self) -> int:
        """max_extracted_chars, or its default tied to the upload limit."""
        return self.max_extracted_chars or max(1, self.max_upload_bytes // 16)

    @property
    def blobs_dir(self) -> Path:
        """Where uploaded file contents live, one blob per file id."""
        return self.storage_dir / "files"

    @property
    def uploads_dir(self) -> Path:
        """Scratch space for uploads in progress; swept at start-up."""
        return self.storage_dir / "uploads"
