"""Where an ingest run stores, chunks and embeds: the services in this process, or a server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

from app.config import Settings
from app.ingest.replies import StoredFile

if TYPE_CHECKING:
    from app.ingest.store_backend import StoreBackend


class Backend(Protocol):
    """What an ingest run asks: the same questions whether answered here or by a server."""

    @property
    def where(self) -> str:
        """For messages: "the in-process services" or the server's URL."""
        ...

    async def model_name(self, requested: str | None) -> str | None:
        """The canonical name of `requested`, or of the only model (None: several, unnamed)."""
        ...

    async def chunked_model(self, file_id: str, params: dict[str, Any]) -> str:
        """The model the file was chunked with under `params`."""
        ...

    async def find_stored(self, sha256: str, filename: str) -> StoredFile | None:
        """The newest stored file with this content and name."""
        ...

    async def upload(self, filename: str, data: bytes) -> StoredFile: ...

    def embed_chunks(self, file_id: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The file's chunks in order, each a dict as the NDJSON stream's lines, with its
        `embedding` as a list of floats."""
        ...

    def stores(self) -> StoreBackend:
        """The vector stores, on the same side."""
        ...


@asynccontextmanager
async def open_backend(settings: Settings, server: str | None) -> AsyncIterator[Backend]:
    """A server's API at `server`, or the services built from `settings` in this process
    (the web app is not involved: a local run imports neither FastAPI nor its routes)."""
    if server is not None:
        import httpx

        from app.ingest.client import TIMEOUT, HttpBackend, auth_headers

        async with httpx.AsyncClient(
            base_url=server, headers=auth_headers(), timeout=TIMEOUT
        ) as client:
            yield HttpBackend(client, server)
        return
    from app.ingest.local import LocalBackend
    from app.observability.metrics import Metrics
    from app.services.runtime import open_services

    async with open_services(settings, Metrics()) as services:
        yield LocalBackend(services)
