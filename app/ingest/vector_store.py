"""`ragprep ingest PATH... --vector-store NAME`: each file found or uploaded, then added to the
named vector store (created if there is none) in file batches, and indexing waited for."""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass, field

import httpx
from tqdm import tqdm

from app.config import Settings
from app.ingest import client as api
from app.ingest.backend import Backend, open_backend
from app.ingest.report import FileResult
from app.ingest.store_backend import StoreBackend
from app.ingest.walk import FileTooLarge, InputFile, SkipFile
from app.registry.specs import RegistryError
from app.services.concurrency.storage_lock import StorageInUse

log = logging.getLogger("ragprep.ingest")

BATCH = 2000  # OpenAI's largest file batch
POLL_SECONDS = 0.5
Sizes = tuple[int, int] | None  # (chunk capacity, overlap); None: the store's auto
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


async def _upload_all(
    backend: Backend,
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
                stored = await stored_file(backend, file, FileResult(file=file), max_bytes)
            except SkipFile as exc:  # not a regular file: passed over, as -o runs do
                run.skipped.append((file.display, str(exc)))
                return
            except (api.ApiError, httpx.TransportError, OSError, FileTooLarge) as exc:
                run.failed.append((file.display, str(exc)))
                return
            found[stored.id] = file

    await asyncio.gather(*(one(file) for file in files))
    return found


async def _wait(stores: StoreBackend, store_id: str, batch_ids: list[str], total: int) -> None:
    tty = sys.stderr.isatty()
    with tqdm(total=total, unit="file", desc="index", disable=not tty, file=sys.stderr) as bar:
        while True:
            done = 0
            for batch_id in batch_ids:
                done += await stores.progress(store_id, batch_id)
            bar.update(done - bar.n)
            if done >= total:
                return
            await asyncio.sleep(POLL_SECONDS)


async def _outcomes(
    stores: StoreBackend, run: StoreRun, batch_ids: list[str], files: dict[str, InputFile]
) -> None:
    for batch_id in batch_ids:
        for item in await stores.outcomes(run.store_id, batch_id):
            name = files[item.file_id].display
            if item.status == "completed":
                run.indexed += 1
            elif item.code in SKIP_CODES:
                run.skipped.append((name, item.message or ""))
            else:
                run.failed.append((name, item.message or item.status))


async def _fill(
    backend: Backend, files: list[InputFile], name: str, options: tuple[int, int], sizes: Sizes
) -> StoreRun:
    stores = backend.stores()
    run = StoreRun(store_id=await stores.find_or_create(name))
    stored = await _upload_all(backend, files, options, run)
    ids = list(stored)
    batch_ids = [
        await stores.add_batch(run.store_id, ids[start : start + BATCH], sizes)
        for start in range(0, len(ids), BATCH)
    ]
    await _wait(stores, run.store_id, batch_ids, len(ids))
    await _outcomes(stores, run, batch_ids, stored)
    return run


async def fill_store(
    settings: Settings,
    files: list[InputFile],
    *,
    name: str,
    server: str | None,
    concurrency: int,
    max_file_bytes: int,
    sizes: Sizes,
) -> StoreRun | None:
    """None (logged) when the run cannot start: a store named NAME filled from `files`,
    each chunked with (capacity, overlap) `sizes`, or the store's `auto` when None."""
    where = server or "the in-process services"
    try:
        async with open_backend(settings, server) as backend:
            return await _fill(backend, files, name, (concurrency, max_file_bytes), sizes)
    except (StorageInUse, RegistryError) as exc:
        log.error("%s", exc)
    except httpx.TransportError as exc:
        log.error("cannot reach %s: %s", where, exc)
    except api.ApiError as exc:
        log.error("%s refused the run: %s", where, exc)
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
