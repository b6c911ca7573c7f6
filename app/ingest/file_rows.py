"""One file's output rows computed here, without a server: the same pieces the API uses
(extraction, the splitter, tokenization, the model's batch engine, vector shaping), so an
engine that calls this writes the rows the local engine gets from POST /v1/files/{id}/embeddings.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from app.config import Settings
from app.engine.catalog import LoadedModel, ModelCatalog, load_one
from app.engine.tiktoken_tokenizer import TiktokenTokenizer
from app.errors import DocumentTooLarge, ServiceError, UnprocessableDocument, UnsupportedMedia
from app.extract import extract
from app.services.chunk_store import ChunkParams, split_document
from app.services.chunking import checked_sizes, has_text
from app.services.documents import extract_limits
from app.services.embeddings import tokenize_inputs
from app.services.file_embeddings import STEP  # chunks per embedding call, as the API's
from app.services.uploads import clean_filename
from app.services.vectors import shape

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
        self._cl100k = TiktokenTokenizer(window=self.model.window)
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
        except ServiceError as exc:
            return FileRows(failed=str(exc))

    def _rows(self, data: bytes, filename: str, display: str) -> FileRows:
        model = self.model
        document = extract(data, filename=filename, limits=self._limits)
        if not has_text(document.text):
            return FileRows(skipped=NO_TEXT)
        params = ChunkParams(
            model=model, tokenizer="model", capacity=self.capacity, overlap=self.overlap
        )
        chunks = split_document(document, params, self.capacity, None)
        result = FileRows()
        for start in range(0, len(chunks), STEP):
            step = chunks[start : start + STEP]
            texts: list[str | list[int]] = [c.text for c in step]
            prepared = tokenize_inputs(texts, model=model, cl100k=self._cl100k, truncate=False)
            raw = asyncio.run(model.engine.embed(prepared.sequences))
            vectors = shape(raw, normalize=model.spec.normalize, dimensions=None)
            for chunk, vector in zip(step, vectors, strict=True):
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
                result.lines.append(json.dumps(record, ensure_ascii=False) + "\n")
                result.tokens += chunk.tokens
        return result
