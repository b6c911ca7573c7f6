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

if TYPE_CHECKING:
    from app.ingest.store_backend import StoreBackend


NDJSON = "application/x-ndjson"
# Embedding a large file can take minutes before its first NDJSON step arrives on a busy
# server; connecting, though, should be quick.
TIMEOUT = httpx.Timeout(30.0, read=900.0)
# Empty documents are the user's data, not a failure of the run; so are documents the server
# cannot extract (422: encrypted, no text layer, corrupt, too slow; 413: unpacks too large),
# skipped with the server's reason.
SKIP_CODES = {"empty_file": "empty file", "empty_document": "no text to embed"}


class ApiError(Exception):
    """A refusal, from a server (a non-2xx answer, with the fields of its error envelope) or
    from the in-process services (a domain error, see app/ingest/local.py)."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None,
        *,
        retry_after: float = 1.0,
        unusable: bool | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        # The document cannot be used (unsupported, unextractable, unpacks too large).
        self.unusable = unusable

    @property
    def busy(self) -> bool:
        """The server's embedding queue was full: the same request succeeds later."""
        return self.code == "queue_full"

    @property
    def skip_reason(self) -> str | None:
        """Why the file is skipped rather than failed, or None when it is a real failure."""
        if self.code in SKIP_CODES:
            return SKIP_CODES[self.code or ""]
        if self.status == 415 or self.code == "unsupported_media_type":
            return "not a supported document format"
        if self.unusable or self.status == 422 or self.code == "document_too_large":
            return self.message
        return None


@dataclass(frozen=True)
class StoredFile:
    id: str
    filename: str


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
        if requested:
            card = json_body(await self.client.get(f"/v1/models/{requested}"))
            return str(card["id"])
        cards = (json_body(await self.client.get("/v1/models")))["data"]
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
