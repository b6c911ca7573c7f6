"""An ingest run's questions answered by the services in this process: the file store, the
chunk store and the pipeline, exactly as the server's routes call them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.engine.catalog import LoadedModel
from app.errors import DocumentTooLarge, DomainError, UnprocessableDocument
from app.ingest.replies import ApiError, StoredFile
from app.services.container import Services
from app.services.pipeline import ChunkParams

if TYPE_CHECKING:
    from app.ingest.store_backend import StoreBackend

FIND_LIMIT = 100  # stored files with one content hash looked at for a name


def refusal(exc: DomainError) -> ApiError:
    """The run's view of a domain error: skipped when the document is unusable, retried
    when the engine is busy (its retry_after), failed otherwise."""
    unusable = isinstance(exc, UnprocessableDocument | DocumentTooLarge)
    wait = float(exc.retry_after) if exc.retry_after is not None else 1.0
    return ApiError(0, exc.message, exc.code, retry_after=wait, unusable=unusable)


@dataclass(frozen=True)
class LocalBackend:
    services: Services
    where: str = "the in-process services"

    async def model_name(self, requested: str | None) -> str | None:
        if requested:
            return self._model(requested).name
        models = list(self.services.catalog)
        return models[0].name if len(models) == 1 else None

    async def chunked_model(self, file_id: str, params: dict[str, Any]) -> str:
        return self._model(params.get("model")).name

    async def find_stored(self, sha256: str, filename: str) -> StoredFile | None:
        async with self.services.session_factory() as session:
            page = await self.services.file_store.list(
                session=session,
                purpose=None,
                limit=FIND_LIMIT,
                sha256=sha256,
                order="desc",
                after=None,
            )
        for row in page.rows:
            if row.filename == filename:
                return StoredFile(id=row.id, filename=row.filename)
        return None

    async def upload(self, filename: str, data: bytes) -> StoredFile:
        async with self.services.session_factory() as session:
            try:
                row = await self.services.file_store.add_bytes(
                    session=session, filename=filename, data=data
                )
            except DomainError as exc:
                raise refusal(exc) from exc
        return StoredFile(id=row.id, filename=row.filename)

    async def embed_chunks(
        self, file_id: str, params: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        services = self.services
        try:
            chunk_params = self._params(params)
            async with services.session_factory() as session:
                chunk_set = await services.chunk_store.chunk(
                    session=session, file_id=file_id, filename=None, params=chunk_params
                )
            async for step in services.file_embedder(chunk_params).stream(chunk_set):
                for item in step:
                    chunk = item.chunk
                    yield {
                        "index": chunk.index,
                        "text": chunk.text,
                        "start": chunk.start,
                        "end": chunk.end,
                        "tokens": chunk.tokens,
                        **chunk.provenance(),
                        "embedding": item.vector.astype("<f4").tolist(),
                        "cached": item.cached,
                    }
        except DomainError as exc:
            raise refusal(exc) from exc

    def stores(self) -> StoreBackend:
        from app.ingest.local_stores import LocalStores

        return LocalStores(self.services)

    def _model(self, name: str | None) -> LoadedModel:
        try:
            return self.services.catalog.get(name)
        except DomainError as exc:
            raise refusal(exc) from exc

    def _params(self, params: dict[str, Any]) -> ChunkParams:
        return ChunkParams(
            model=self._model(params.get("model")),
            tokenizer="model",
            capacity=params.get("chunk_capacity"),
            overlap=int(params.get("chunk_overlap", 0)),
        )
