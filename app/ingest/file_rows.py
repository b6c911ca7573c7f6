"""One file's output rows computed here, without a server or database: extraction, then the
same pipeline the server runs (app/services/pipeline.py) straight on the model's engine, so an
engine that calls this writes the rows the local engine writes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from app.chunking.splitter import Chunk, checked_sizes, has_text
from app.config import Settings
from app.engine.catalog import LoadedModel, ModelCatalog, load_one
from app.engine.tiktoken_tokenizer import TiktokenTokenizer
from app.errors import DocumentTooLarge, DomainError, UnprocessableDocument, UnsupportedMedia
from app.extract import extract
from app.ingest.output import json_line
from app.services.documents import extract_limits
from app.services.filenames import clean_filename
from app.services.pipeline import (
    ChunkEmbedder,
    ChunkParams,
    EmbeddedChunk,
    chunk_document,
    engine_embedder,
)

# The same reasons the local engine reports for the same files (app/ingest/client.py).
NOT_TEXT, EMPTY_FILE, NO_TEXT = "not a supported document format", "empty file", "no text to embed"


@dataclass
class FileRows:
    """A file's JSONL lines, or why it was skipped or failed."""

    lines: list[str] = field(default_factory=list)
    tokens: int = 0
    skipped: str | None = None
    failed: str | None = None


class FileEmbedder:
    """Owns the one model it embeds with: its decode contexts, each on its own worker thread."""

    def __init__(
        self, settings: Settings, *, model: str | None, capacity: int | None, overlap: int
    ) -> None:
        self._catalog: ModelCatalog = load_one(settings, model)
        try:
            self.model: LoadedModel = self._catalog.get(model)
            # Checked once: a bad size is a usage error of the whole run, not of each file.
            self.capacity = checked_sizes(self.model.tokenizer, capacity, overlap)
        except BaseException:
            self._catalog.stop()  # the model worker threads, or the process never exits
            raise
        # Inputs here are always text, never cl100k ids; the chosen model's window is the one
        # that matters (asking for the default model fails when several are loaded).
        cl100k = TiktokenTokenizer(window=self.model.window)
        self._embedder = ChunkEmbedder(self.model, cl100k, engine_embedder(self.model))
        self.overlap = overlap
        self._limits = extract_limits(settings)

    def close(self) -> None:
        self._catalog.stop()

    def rows(self, data: bytes, *, name: str, display: str) -> FileRows:
        """The rows of the file named `name` (its base name) holding `data`."""
        filename = clean_filename(name)  # as the server would store it
        if not data:
            return FileRows(skipped=EMPTY_FILE)
        try:
            return self._rows(data, filename, display)
        except UnsupportedMedia:
            return FileRows(skipped=NOT_TEXT)
        except (UnprocessableDocument, DocumentTooLarge) as exc:
            # As the local engine: documents that cannot be extracted are skipped, with why.
            return FileRows(skipped=exc.message)
        except DomainError as exc:
            return FileRows(failed=str(exc))

    def _rows(self, data: bytes, filename: str, display: str) -> FileRows:
        model = self.model
        document = extract(data, filename=filename, limits=self._limits)
        if not has_text(document.text):
            return FileRows(skipped=NO_TEXT)
        params = ChunkParams(
            model=model, tokenizer="model", capacity=self.capacity, overlap=self.overlap
        )
        chunks = chunk_document(document, params, self.capacity, None)
        result = FileRows()
        for step in asyncio.run(self._embedded(chunks)):
            for chunk, vector in ((item.chunk, item.vector) for item in step):
                record = {
                    "file_id": None,  # nothing is stored on a server
                    "filename": filename,
                    "path": display,
                    "chunk_index": chunk.index,
                    "start": chunk.start,
                    "end": chunk.end,
                    "tokens": chunk.tokens,
                    **chunk.provenance(),
                    "text": chunk.text,
                    "model": model.name,
                    "embedding": vector.astype("<f4").tolist(),
                }
                result.lines.append(json_line(record))
                result.tokens += chunk.tokens
        return result

    async def _embedded(self, chunks: list[Chunk]) -> list[list[EmbeddedChunk]]:
        return [step async for step in self._embedder.steps(chunks)]
