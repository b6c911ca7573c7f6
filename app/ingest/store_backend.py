"""What `ragprep ingest --vector-store` asks of a store: over HTTP, or of the services here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from app.ingest.client import HttpBackend, json_body

PAGE = 100


@dataclass(frozen=True)
class FileOutcome:
    file_id: str
    status: str
    code: str | None
    message: str | None


class StoreBackend(Protocol):
    async def find_or_create(self, name: str) -> str:
        """The newest store called `name`, or a new one."""
        ...

    async def add_batch(
        self, store_id: str, file_ids: list[str], sizes: tuple[int, int] | None
    ) -> str:
        """A file batch queued (chunked with (capacity, overlap), or `auto`); its id."""
        ...

    async def progress(self, store_id: str, batch_id: str) -> int:
        """How many of the batch's files are done (indexed, failed or cancelled)."""
        ...

    async def outcomes(self, store_id: str, batch_id: str) -> list[FileOutcome]: ...


@dataclass(frozen=True)
class HttpStores:
    http: HttpBackend

    @property
    def client(self) -> httpx.AsyncClient:
        return self.http.client

    async def find_or_create(self, name: str) -> str:
        params: dict[str, Any] = {"limit": PAGE}
        while True:
            page = json_body(await self.client.get("/v1/vector_stores", params=params))
            for store in page["data"]:
                if store["name"] == name:
                    return str(store["id"])
            if not page["has_more"]:
                break
            params["after"] = page["last_id"]
        created = await self.client.post("/v1/vector_stores", json={"name": name})
        return str(json_body(created)["id"])

    async def add_batch(
        self, store_id: str, file_ids: list[str], sizes: tuple[int, int] | None
    ) -> str:
        body: dict[str, Any] = {"file_ids": file_ids}
        if sizes is not None:
            static = {"max_chunk_size_tokens": sizes[0], "chunk_overlap_tokens": sizes[1]}
            body["chunking_strategy"] = {"type": "static", "static": static}
        url = f"/v1/vector_stores/{store_id}/file_batches"
        return str(json_body(await self.client.post(url, json=body))["id"])

    async def progress(self, store_id: str, batch_id: str) -> int:
        url = f"/v1/vector_stores/{store_id}/file_batches/{batch_id}"
        counts = json_body(await self.client.get(url))["file_counts"]
        return int(counts["total"] - counts["in_progress"])

    async def outcomes(self, store_id: str, batch_id: str) -> list[FileOutcome]:
        found: list[FileOutcome] = []
        params: dict[str, Any] = {"limit": PAGE}
        url = f"/v1/vector_stores/{store_id}/file_batches/{batch_id}/files"
        while True:
            page = json_body(await self.client.get(url, params=params))
            for item in page["data"]:
                error = item["last_error"] or {}
                found.append(
                    FileOutcome(item["id"], item["status"], error.get("code"), error.get("message"))
                )
            if not page["has_more"]:
                return found
            params["after"] = page["last_id"]
