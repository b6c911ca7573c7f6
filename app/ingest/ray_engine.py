"""`ragprep ingest --engine ray`: the same rows as the local engine, made by a Ray Data pipeline.

Files are listed here, read by Ray tasks, then chunked and embedded by a pool of actors that
each own a llama.cpp context (app/ingest/file_rows.py, the API's own pieces); rows come back in
file order and go through the same outputs (JSONL or Parquet). Ray connects to the cluster in
RAY_ADDRESS, or starts a small local one. On a cluster, every node needs ragprep[ray] and the
input files and models at the same paths (a shared filesystem).
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.config import Settings
from app.errors import ServiceError
from app.ingest.file_rows import FileEmbedder, FileRows
from app.ingest.output import Output, open_output
from app.ingest.report import FileResult, Progress, Summary, log_summary
from app.ingest.run import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    IngestOptions,
    Outcome,
    input_files,
    write_result,
)
from app.ingest.walk import FileTooLarge, InputFile, SkipFile, read_regular
from app.registry.specs import RegistryError

log = logging.getLogger("ragprep.ingest")

INSTALL_HINT = "--engine ray needs the ray extra: pip install 'ragprep[ray]'"
# Files per actor call: small, so that rows stream back early and a big file does not hold
# many others hostage; the actor batches their chunks through the model itself.
FILES_PER_BATCH = 4


@dataclass(frozen=True)
class RayOptions:
    actors: int = 1


class _Embedder:
    """The Ray actor: one per pool slot, each with its own model context."""

    def __init__(self, settings: Settings, options: IngestOptions) -> None:
        self._files = FileEmbedder(
            settings,
            model=options.model,
            capacity=options.chunk_capacity,
            overlap=options.chunk_overlap,
        )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = [
            FileRows(failed=str(error))
            if error
            else FileRows(skipped=str(skip))
            if skip
            else self._files.rows(bytes(data), name=str(name), display=str(display))
            for name, display, data, error, skip in zip(
                batch["name"],
                batch["display"],
                batch["data"],
                batch["error"],
                batch["skip"],
                strict=True,
            )
        ]
        return {
            "order": batch["order"],
            "lines": np.array(["".join(r.lines) for r in results], dtype=object),
            "tokens": np.array([r.tokens for r in results]),
            "skipped": np.array([r.skipped or "" for r in results], dtype=object),
            "failed": np.array([r.failed or "" for r in results], dtype=object),
        }


def _read(row: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """A Ray task: the file's bytes, read as the local engine reads them (its size checked
    before reading, so a huge file or /dev/zero is never read whole). An unreadable or
    oversized file fails alone, one that is no longer a regular file is skipped."""
    row["data"], row["error"], row["skip"] = b"", "", ""
    try:
        row["data"], _ = read_regular(Path(os.fsdecode(row["path"])), max_bytes)
    except SkipFile as exc:
        row["skip"] = str(exc)
    except FileTooLarge as exc:
        row["error"] = str(exc)
    except OSError as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"
    return row


def _start_ray(actors: int) -> Any:
    import ray

    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=False)  # joins the cluster RAY_ADDRESS names
    else:
        # Small and quiet: a CPU per actor plus one for the read tasks, no dashboard.
        ray.init(num_cpus=actors + 1, include_dashboard=False, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows in file order, as the local engine
    context.enable_progress_bars = False  # ours counts files
    return ray


def _pipeline(
    ray: Any, files: list[InputFile], settings: Settings, options: IngestOptions, actors: int
) -> Any:
    # The path as bytes, which any file name is; the names shown are the local engine's, made
    # here: a link's own name, undecodable bytes as U+FFFD (valid UTF-8 all the way to OUT).
    items = [
        {"order": i, "path": os.fsencode(f.path.resolve()), "name": f.name, "display": f.display}
        for i, f in enumerate(files)
    ]
    return (
        ray.data.from_items(items)
        .map(_read, fn_kwargs={"max_bytes": settings.max_upload_bytes})
        .map_batches(
            _Embedder,
            fn_constructor_kwargs={"settings": settings, "options": options},
            batch_size=FILES_PER_BATCH,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=1,
        )
    )


def _result(file: InputFile, row: dict[str, Any]) -> FileResult:
    result = FileResult(file=file)
    if row["skipped"]:
        result.skipped = str(row["skipped"])
    elif row["failed"]:
        result.failed = str(row["failed"])
    else:
        # Split on "\n" only: JSON escapes it inside strings, but not U+2028 and the like.
        result.lines = [line + "\n" for line in str(row["lines"]).split("\n")[:-1]]
        result.tokens = int(row["tokens"])
    return result


def _check_model(settings: Settings, options: IngestOptions) -> str | None:
    """Usage errors (no such model, bad chunk sizes) found here, before Ray starts."""
    try:
        FileEmbedder(
            settings,
            model=options.model,
            capacity=options.chunk_capacity,
            overlap=options.chunk_overlap,
        ).close()
    except (RegistryError, ServiceError) as exc:
        return str(exc)
    return None


def ingest_with_ray(options: IngestOptions, settings: Settings, ray_options: RayOptions) -> Outcome:
    """Run the whole command on Ray."""
    try:
        import ray  # noqa: F401
    except ImportError:
        log.error("%s", INSTALL_HINT)
        return Outcome(EXIT_USAGE)
    if options.server is not None:
        log.error("--server and --engine ray exclude each other: Ray workers embed themselves")
        return Outcome(EXIT_USAGE)
    inputs = input_files(options)
    if inputs is None:
        return Outcome(EXIT_USAGE)
    with ExitStack() as stack:
        try:
            output: Output = stack.enter_context(open_output(options.output))
        except OSError as exc:
            log.error("cannot write %s: %s", options.output, exc)
            return Outcome(EXIT_USAGE)
        problem = _check_model(settings, options)
        if problem is not None:
            log.error("%s", problem)
            return Outcome(EXIT_USAGE)
        summary = _run(inputs.files, settings, options, ray_options, output)
        summary.found += len(inputs.skipped)
        summary.skipped[:0] = inputs.skipped
        written = not summary.failed or options.output == "-"
        if written:
            output.commit()
    log_summary(summary, options.output, written)
    return Outcome(EXIT_FAILED if summary.failed else EXIT_OK, summary)


def _run(
    files: list[InputFile],
    settings: Settings,
    options: IngestOptions,
    ray_options: RayOptions,
    output: Output,
) -> Summary:
    ray = _start_ray(ray_options.actors)
    if not os.environ.get("RAY_ADDRESS") and not (settings.threads or settings.workers):
        # Local actors share this machine's cores rather than each taking all of them: one
        # decode context per actor (the default layout would give each actor one per core).
        threads = max(1, (os.cpu_count() or 1) // ray_options.actors)
        settings = settings.model_copy(update={"workers": 1, "threads": threads})
    summary = Summary(found=len(files))
    progress = Progress(summary)
    try:
        dataset = _pipeline(ray, files, settings, options, ray_options.actors)
        for row in dataset.iter_rows():
            result = write_result(output, _result(files[int(row["order"])], row))
            progress.done(result)
    finally:
        progress.close()
        ray.shutdown()
    return summary
