"""One ingest run: for each file, find or upload it, stream its chunk vectors, write JSONL."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable
from contextlib import AsyncExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
from tqdm.contrib.logging import logging_redirect_tqdm

from app.config import Settings
from app.ingest import replies as api
from app.ingest.backend import Backend, open_backend
from app.ingest.output import STDOUT, Output, chunk_line, open_output
from app.ingest.report import FileResult, Progress, Summary, log_summary
from app.ingest.walk import (
    FileTooLarge,
    InputFile,
    Inputs,
    MissingPath,
    SkipFile,
    read_regular,
    scan,
)
from app.registry.specs import RegistryError
from app.services.concurrency.storage_lock import StorageInUse
from app.services.filenames import clean_filename

log = logging.getLogger("ragprep.ingest")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# How long one file keeps waiting out a busy server before it counts as failed.
BUSY_PATIENCE = 300.0


@dataclass(frozen=True)
class IngestOptions:
    paths: list[Path]
    output: str
    model: str | None = None
    chunk_capacity: int | None = None
    chunk_overlap: int = 0
    glob: str | None = None
    server: str | None = None
    concurrency: int = 4
    vector_store: str | None = None  # fill this store instead of writing OUT
    follow_symlinks: bool = False  # leave a folder through a symbolic link
    max_file_bytes: int = 512 * 1024 * 1024  # larger files are skipped unread
    # base64 float32 is a quarter of the JSON floats' size on the wire and faster to parse;
    # the vectors written are the same either way (benchmarks/bench_ingest.py --encoding).
    encoding_format: Literal["base64", "float"] = "base64"

    def request(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "chunk_overlap": self.chunk_overlap,
            "encoding_format": self.encoding_format,
        }
        if self.model:
            body["model"] = self.model
        if self.chunk_capacity is not None:
            body["chunk_capacity"] = self.chunk_capacity
        return body


class ModelName:
    """The canonical model name for the JSONL, asked of the server once."""

    def __init__(self, known: str | None) -> None:
        self.known = known

    async def get(self, backend: Backend, file_id: str, params: dict[str, Any]) -> str:
        if self.known is None:
            self.known = await backend.chunked_model(file_id, params)
        return self.known


async def stored_file(
    backend: Backend, file: InputFile, result: FileResult, max_bytes: int
) -> api.StoredFile:
    data, sha256 = await anyio.to_thread.run_sync(read_regular, file.path, max_bytes)
    # The name the server would store, so matches are exact.
    name = clean_filename(file.name)
    stored = await backend.find_stored(sha256, name)
    if stored is None:
        stored = await backend.upload(name, data)
        result.uploaded = True
    return stored


async def _embedded_chunks(
    backend: Backend, file: InputFile, file_id: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """The file's chunks with vectors; a full embedding queue (429) is waited out, as it asks.

    A retry is cheap: the chunks are stored and the vectors already made are in the cache.
    """
    deadline = time.monotonic() + BUSY_PATIENCE
    while True:
        try:
            return [item async for item in backend.embed_chunks(file_id, params)]
        except api.ApiError as exc:
            # Jittered, so files turned away together do not all come back together.
            wait = exc.retry_after * (1 + random.random())
            if not exc.busy or time.monotonic() + wait > deadline:
                raise
            log.info("server busy (%s); retrying %s in %.1f s", exc, file.display, wait)
            await asyncio.sleep(wait)


async def _ingest_file(
    backend: Backend,
    file: InputFile,
    params: dict[str, Any],
    model: ModelName,
    max_bytes: int,
) -> FileResult:
    result = FileResult(file=file)
    stored = await stored_file(backend, file, result, max_bytes)
    items = await _embedded_chunks(backend, file, stored.id, params)
    if [item["index"] for item in items] != list(range(len(items))):
        raise ValueError("the server's chunk stream is incomplete or out of order")
    name = await model.get(backend, stored.id, params)
    for item in items:
        result.lines.append(chunk_line(stored=stored, path=file.display, model=name, item=item))
        result.tokens += item["tokens"]
        result.cached += bool(item["cached"])
    return result


async def _guarded(work: Awaitable[FileResult], file: InputFile) -> FileResult:
    """A file's outcome: one file going wrong is reported, it never ends the run."""
    try:
        return await work
    except SkipFile as exc:
        return FileResult(file=file, skipped=str(exc))
    except FileTooLarge as exc:
        return FileResult(file=file, failed=str(exc))
    except api.ApiError as exc:
        if exc.skip_reason is not None:
            return FileResult(file=file, skipped=exc.skip_reason)
        return FileResult(file=file, failed=str(exc))
    except Exception as exc:  # transport errors, broken streams, unreadable files, ...
        log.debug("%s failed", file.display, exc_info=True)
        return FileResult(file=file, failed=f"{type(exc).__name__}: {exc}")


def write_result(output: Output, result: FileResult) -> FileResult:
    """Write a file's lines; failing to (a disk error, text that is not valid UTF-8) fails
    that file, reported like any other failure, and the run goes on."""
    try:
        for line in result.lines:
            line.encode("utf-8")  # checked before any line of the file goes out
        output.write(result.lines)
    except (OSError, UnicodeError) as exc:
        log.debug("%s could not be written", result.file.display, exc_info=True)
        return FileResult(file=result.file, failed=f"writing its output: {exc}")
    return result


async def _run_files(
    backend: Backend,
    files: list[InputFile],
    options: IngestOptions,
    model: ModelName,
    sinks: tuple[Output, Progress],
) -> None:
    """Up to `concurrency` files in flight; results are written strictly in file order."""
    output, progress = sinks
    params = options.request()
    pending: deque[asyncio.Task[FileResult]] = deque()

    async def emit() -> None:
        result = write_result(output, await pending.popleft())
        progress.done(result)

    try:
        for file in files:
            work = _ingest_file(backend, file, params, model, options.max_file_bytes)
            pending.append(asyncio.create_task(_guarded(work, file)))
            if len(pending) >= options.concurrency:
                await emit()
        while pending:
            await emit()
    finally:
        for task in pending:
            task.cancel()


async def _probe(backend: Backend, options: IngestOptions) -> ModelName | None:
    """The model's canonical name; None (logged) when the server cannot serve this run."""
    where = backend.where
    try:
        return ModelName(await backend.model_name(options.model))
    except api.Unreachable as exc:
        log.error("cannot reach %s: %s", where, exc)
    except api.ApiError as exc:
        log.error("%s refused the run: %s", where, exc)
    return None


def input_files(options: IngestOptions) -> Inputs | None:
    """The files to ingest and those passed over, or None (logged) for a usage error."""
    try:
        inputs = scan(options.paths, options.glob, follow_symlinks=options.follow_symlinks)
    except MissingPath as exc:
        log.error("%s", exc)
        return None
    if (
        options.output and options.output != STDOUT
    ):  # an earlier OUT inside an input folder is not a document
        out = Path(options.output).resolve()
        inputs.files = [f for f in inputs.files if f.path.resolve() != out]
    if not inputs.files:
        log.error("no input files found in %s", ", ".join(str(p) for p in options.paths))
        for name, why in inputs.skipped:
            log.error("  skipped %s: %s", name, why)
        return None
    return inputs


async def _ingest_all(
    backend: Backend,
    inputs: Inputs,
    options: IngestOptions,
    model: ModelName,
    output: Output,
) -> Summary:
    files = inputs.files
    summary = Summary(found=len(files) + len(inputs.skipped), skipped=list(inputs.skipped))
    progress = Progress(summary)
    # On a terminal, log lines are printed above the bar instead of through it.
    redirect = logging_redirect_tqdm() if progress.tty else nullcontext()
    with redirect:
        try:
            await _run_files(backend, files, options, model, (output, progress))
        finally:
            progress.close()
    return summary


@dataclass(frozen=True)
class Outcome:
    code: int  # the exit status
    summary: Summary | None = None  # None when the run stopped before any file (a usage error)


async def ingest(options: IngestOptions, settings: Settings) -> Outcome:
    """Run the whole command."""
    inputs = input_files(options)
    if inputs is None:
        return Outcome(EXIT_USAGE)
    if options.vector_store is not None:
        return await _into_store(options, settings, inputs)
    async with AsyncExitStack() as stack:
        try:  # before the model loads, so a bad -o fails at once
            output = stack.enter_context(open_output(options.output))
        except OSError as exc:
            log.error("cannot write %s: %s", options.output, exc)
            return Outcome(EXIT_USAGE)
        try:
            backend = await stack.enter_async_context(open_backend(settings, options.server))
        except (StorageInUse, RegistryError) as exc:  # the in-process services could not start
            log.error("%s", exc)
            return Outcome(EXIT_USAGE)
        model = await _probe(backend, options)
        if model is None:
            return Outcome(EXIT_USAGE)
        summary = await _ingest_all(backend, inputs, options, model, output)
        # A run with failures leaves an earlier OUT untouched rather than publish a partial one.
        written = not summary.failed or options.output == STDOUT
        if written:
            output.commit()
    log_summary(summary, options.output, written)
    return Outcome(EXIT_FAILED if summary.failed else EXIT_OK, summary)


async def _into_store(options: IngestOptions, settings: Settings, inputs: Inputs) -> Outcome:
    from app.ingest.vector_store import fill_store, log_store_run

    assert options.vector_store is not None
    sizes = None
    if options.chunk_capacity is not None:
        sizes = (options.chunk_capacity, options.chunk_overlap)
    run = await fill_store(
        settings,
        inputs.files,
        name=options.vector_store,
        server=options.server,
        concurrency=options.concurrency,
        max_file_bytes=options.max_file_bytes,
        sizes=sizes,
    )
    if run is None:
        return Outcome(EXIT_USAGE)
    run.skipped[:0] = inputs.skipped  # passed over while walking the folders
    log_store_run(run, options.vector_store, len(inputs.files) + len(inputs.skipped))
    return Outcome(EXIT_FAILED if run.failed else EXIT_OK)
