"""Service settings: one pydantic-settings class, read from `RAGPREP_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Everything the service can be configured with. Each field maps to `RAGPREP_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="RAGPREP_", extra="ignore")

    storage_dir: Path = Field(
        default=Path("storage"),
        description="Directory for runtime data: uploaded blobs and the SQLite database.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL; defaults to sqlite+aiosqlite:///<storage_dir>/ragprep.db.",
    )
    models_dir: Path = Field(
        default=Path("models"),
        description="Model registry: GGUF files, LocalAI-style YAML configs, HF model folders.",
    )
    max_upload_bytes: int = Field(
        default=512 * MIB, gt=0, description="Largest accepted upload, in bytes (larger: 413)."
    )
    upload_chunk_bytes: int = Field(
        default=1 * MIB, gt=0, description="Read size while streaming an upload to disk."
    )
    default_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="Model used when a request names none and several models are loaded.",
    )
    prepare_default_model: bool = Field(
        default=True,
        description="Build the default GGUF from the packaged weights at start-up if missing.",
    )
    threads: int = Field(
        default=0, ge=0, description="llama.cpp threads per model; 0 means all CPU cores."
    )
    batch_tokens: int = Field(
        default=2048,
        gt=0,
        description="Token budget of one embedding batch (never below one full-window sequence).",
    )
    queue_size: int = Field(
        default=8192,
        gt=0,
        description="Most inputs waiting for the embedding worker; beyond it requests get 429.",
    )
    embedding_cache: bool = Field(
        default=True,
        description="Reuse stored vectors for inputs already embedded by the same model file.",
    )
    max_inputs: int = Field(
        default=2048, gt=0, description="Most inputs in one /v1/embeddings request."
    )

    @model_validator(mode="after")
    def _default_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.storage_dir.resolve() / 'ragprep.db'}"
        return self

    @property
    def blobs_dir(self) -> Path:
        """Where uploaded file contents live, one blob per file id."""
        return self.storage_dir / "files"

    @property
    def uploads_dir(self) -> Path:
        """Scratch space for uploads in progress; swept at start-up."""
        return self.storage_dir / "uploads"
