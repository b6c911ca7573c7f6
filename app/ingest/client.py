"""The HTTP API as `ragprep ingest --server URL` uses it."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np

from app.ingest.replies import ApiError, StoredFile, Unreachable

if TYPE_CHECKING:
    from app.ingest.store_backend import StoreBackend

__all__ = ["ApiError", "HttpBackend", "StoredFile", "json_body"]

NDJSON = "application/x-ndjson"
# Embedding a large file can take minutes before its first NDJSON step arrives on a busy
# server; connecting, though, should be quick.
TIMEOUT = httpx.Timeout(30.0, read=900.0)


def auth_headers() -> dict[str, str]:
    key = os.environ.get("RAGPREP_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        message, code = str(error.get("message")), error.get("code")
    except (ValueError, KeyError, TypeError, AttributeError):
        message, code = response.text[:200] or response.reason_phrase, None
    retry_after = response.headers.get("retry-after", "1")
    wait = float(retry_after) if retry_after.isdigit() else 1.0
    raise ApiError(response.status_code, message, code, retry_after=wait)


def json_body(response: httpx.Response) -> Any:
    _raise_for(response)
    return response.json()


def _decoded(item: dict[str, Any]) -> dict[str, Any]:
    vector = item["embedding"]
    if isinstance(vector, str):  # base64 of little-endian float32, a quarter of the JSON size
        item["embedding"] = np.frombuffer(base64.b64decode(vector), dtype="<f4").tolist()
    return item


@dataclass(frozen=True)
class HttpBackend:
    """What an ingest run asks of ragprep, asked of a server over HTTP."""

    client: httpx.AsyncClient
    where: str

    async def model_name(self, requested: str | None) -> str | None:
        """The canonical name of `requested` (an alias is fine), or of the only loaded model.

        None when several models are loaded and none was named: only the server knows its
        default then, and `chunked_model` asks it per file.
        """
        try:
            if requested:
                card = json_body(await self.client.get(f"/v1/models/{requested}"))
                return str(card["id"])
            cards = (json_body(await self.client.get("/v1/models")))["data"]
        except httpx.TransportError as exc:  # the run's first call: nothing listens there
            raise Unreachable(str(exc)) from exc
        return str(cards[0]["id"]) if len(cards) == 1 else None

    async def chunked_model(self, file_id: str, params: dict[str, Any]) -> str:
        """The model the server chunked `file_id` with; cheap, the chunk set is already stored."""
        body = {"id": file_id, **{k: v for k, v in params.items() if k != "encoding_format"}}
        return str((json_body(await self.client.post("/v1/chunks", json=body)))["model"])

    async def find_stored(self, sha256: str, filename: str) -> StoredFile | None:
        """A stored file with this content and name (the newest), if the server has one."""
        listing = json_body(await self.client.get("/v1/files", params={"sha256": sha256}))
        for item in listing["data"]:
            if item["filename"] == filename:
                return StoredFile(id=item["id"], filename=item["filename"])
        return None

    async def upload(self, filename: str, data: bytes) -> StoredFile:
        response = await self.client.post(
            "/v1/files", files={"file": (filename, data)}, data={"purpose": "assistants"}
        )
        item = json_body(response)
        return StoredFile(id=item["id"], filename=item["filename"])

    async def embed_chunks(
        self, file_id: str, params: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """The file's chunks in order, each with its `embedding` decoded to a list of floats."""
        url = f"/v1/files/{file_id}/embeddings"
        headers = {"Accept": NDJSON}
        async with self.client.stream("POST", url, json=params, headers=headers) as response:
            if not response.is_success:
                await response.aread()
                _raise_for(response)
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                item = json.loads(line)
                if "error" in item:  # the server cut the stream short, and said why
                    error = item["error"]
                    message = f"stream cut short: {error['message']}"
                    raise ApiError(response.status_code, message, error.get("code"))
                yield _decoded(item)

    def stores(self) -> StoreBackend:
        from app.ingest.store_backend import HttpStores

        return HttpStores(self)
