"""`ragprep ingest PATH... --vector-store NAME`: each file found or uploaded, then added to the
named vector store (created if there is none) in file batches, and indexing waited for."""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import httpx
from tqdm import tqdm

from app.config import Settings
from app.ingest import client as api
from app.ingest.report import FileResult
from app.ingest.walk import FileTooLarge, InputFile, SkipFile
from app.registry.specs import RegistryError
from app.services.storage_lock import StorageInUse

log = logging.getLogger("ragprep.ingest")

BATCH = 2000  # OpenAI's largest file batch
POLL_SECONDS = 0.5
# A file the store could not index for these reasons is the user's data, not a failure.
SKIP_CODES = {
    "empty_document",
    "unsupported_media_type",
    "encrypted_document",
    "no_text_layer",
    "corrupt_document",
    "unsafe_document",
    "document_too_large",
    "extraction_timeout",
}


@dataclass
class StoreRun:
    store_id: str = ""
    indexed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


async def find_or_create(client: httpx.AsyncClient, name: str) -> str:
    """The newest store called `name`, or a new one."""
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = api.json_body(await client.get("/v1/vector_stores", params=params))
        for store in page["data"]:
            if store["name"] == name:
                return str(store["id"])
        if not page["has_more"]:
            break
        params["after"] = page["last_id"]
    return str(api.json_body(await client.post("/v1/vector_stores", json={"name": name}))["id"])


async def _upload_all(
    client: httpx.AsyncClient,
    files: list[InputFile],
    options: tuple[int, int],
    run: StoreRun,
) -> dict[str, InputFile]:
    """Each file's stored id (an identical stored file is reused); failures are recorded."""
    from app.ingest.run import stored_file

    concurrency, max_bytes = options
    limit = asyncio.Semaphore(concurrency)
    found: dict[str, InputFile] = {}

    async def one(file: InputFile) -> None:
        async with limit:
            try:
                stored = await stored_file(client, file, FileResult(file=file), max_bytes)
            except SkipFile as exc:  # not a regular file: passed over, as -o runs do
                run.skipped.append((file.display, str(exc)))
                return
            except (api.ApiError, httpx.TransportError, OSError, FileTooLarge) as exc:
                run.failed.append((file.display, str(exc)))
                return
            found[stored.id] = file

    await asyncio.gather(*(one(file) for file in files))
    return found


async def _wait(client: httpx.AsyncClient, store_id: str, batch_ids: list[str], total: int) -> None:
    tty = sys.stderr.isatty()
    with tqdm(total=total, unit="file", desc="index", disable=not tty, file=sys.stderr) as bar:
        while True:
            done = 0
            for batch_id in batch_ids:
                url = f"/v1/vector_stores/{store_id}/file_batches/{batch_id}"
                counts = api.json_body(await client.get(url))["file_counts"]
                done += counts["total"] - counts["in_progress"]
            bar.update(done - bar.n)
            if done >= total:
                return
            await asyncio.sleep(POLL_SECONDS)


async def _outcomes(
    client: httpx.AsyncClient, run: StoreRun, batch_ids: list[str], files: dict[str, InputFile]
) -> None:
    for batch_id in batch_ids:
        params: dict[str, Any] = {"limit": 100}
        url = f"/v1/vector_stores/{run.store_id}/file_batches/{batch_id}/files"
        while True:
            page = api.json_body(await client.get(url, params=params))
            for item in page["data"]:
                name = files[item["id"]].display
                error = item["last_error"] or {}
                if item["status"] == "completed":
                    run.indexed += 1
                elif error.get("code") in SKIP_CODES:
                    run.skipped.append((name, error["message"]))
                else:
                    run.failed.append((name, error.get("message") or item["status"]))
            if not page["has_more"]:
                break
            params["after"] = page["last_id"]


async def fill_store(
    settings: Settings,
    files: list[InputFile],
    *,
    name: str,
    server: str | None,
    concurrency: int,
    max_file_bytes: int,
    chunking: dict[str, Any] | None,
) -> StoreRun | None:
    """None (logged) when the run cannot start: a store named NAME filled from `files`."""
    try:
        async with api.open_client(settings, server) as client:
            run = StoreRun(store_id=await find_or_create(client, name))
            stored = await _upload_all(client, files, (concurrency, max_file_bytes), run)
            ids = list(stored)
            batch_ids = []
            for start in range(0, len(ids), BATCH):
                body: dict[str, Any] = {"file_ids": ids[start : start + BATCH]}
                if chunking is not None:
                    body["chunking_strategy"] = chunking
                url = f"/v1/vector_stores/{run.store_id}/file_batches"
                batch_ids.append(api.json_body(await client.post(url, json=body))["id"])
            await _wait(client, run.store_id, batch_ids, len(ids))
            await _outcomes(client, run, batch_ids, stored)
            return run
    except (StorageInUse, RegistryError) as exc:
        log.error("%s", exc)
    except httpx.TransportError as exc:
        log.error("cannot reach %s: %s", server or "the in-process app", exc)
    except api.ApiError as exc:
        log.error("the server refused the run: %s", exc)
    return None


def log_store_run(run: StoreRun, name: str, found: int) -> None:
    log.info(
        "vector store %r (%s): %d files found, %d indexed, %d skipped, %d failed",
        name,
        run.store_id,
        found,
        run.indexed,
        len(run.skipped),
        len(run.failed),
    )
    for file, reason in run.skipped:
        log.warning("  skipped %s: %s", file, reason)
    for file, reason in run.failed:
        log.error("  failed %s: %s", file, reason)
