"""`ragprep ingest PATH... -o OUT.jsonl`: files in, one JSON line (or with -o OUT.parquet, one
Parquet row) per chunk with its vector out."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from app.cli.options import add_storage_options
from app.config import Settings

EPILOG = """\
Folders are walked recursively in sorted order, skipping hidden files and folders; --glob
filters the names of files found in folders (files named on the command line are always read).
Each file is hashed locally and looked up in the file store; a stored copy with the same name
is reused, otherwise the file is stored. Its chunks and embeddings come from the same pipeline
as POST /v1/files/{id}/embeddings, so a re-run on unchanged files stores nothing and hits the
embedding cache. Without --server the services run in this process on the storage options
below; with it, the server's HTTP API is used (GET /v1/files?sha256=, POST /v1/files, ...).

Skipped (reported, not errors): files that are not text, empty or only whitespace.
OUT is replaced atomically, and only when no file failed ('-' streams to stdout instead).

exit status:
  0    every file was ingested or skipped
  1    some file failed (any other HTTP error, a broken connection, an unreadable file)
  2    usage error: bad arguments, a missing PATH, no input files found, an unwritable OUT,
       or a server that cannot be reached or refuses the run (e.g. an unknown --model)
  130  interrupted (Ctrl-C); OUT is left as it was

RAGPREP_API_KEY, when set, is sent as 'Authorization: Bearer <key>'.
"""


# The embedding workers do the work; files in flight only overlap their batches with
# uploads and chunking, which a few already do. More would just crowd out other clients.
MAX_CONCURRENCY = 6


def _concurrency(value: str) -> int:
    number = _positive(value)
    if number > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_CONCURRENCY}, got {number}")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def run(args: argparse.Namespace, settings: Settings) -> int:
    from app.startup import collector_paused, head_start

    in_process = not args.server and args.engine == "local"
    if in_process:  # the model runs in this process: its compilation overlaps the imports below
        head_start(settings)
    # Imported here: `ragprep serve` should not pay for the ingest client's imports; nor should
    # a run with --server pay for the services (imported here for the paused collector).
    with collector_paused():
        from app.ingest.run import IngestOptions, ingest

        if in_process:
            import app.services.runtime  # noqa: F401

    # One INFO line per HTTP request would drown the per-file lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.vector_store is not None and args.engine == "ray":
        logging.getLogger("ragprep.ingest").error("--vector-store runs with --engine local")
        return 2
    options = IngestOptions(
        paths=args.paths,
        output=args.output or "",
        vector_store=args.vector_store,
        model=args.model,
        chunk_capacity=args.chunk_capacity,
        chunk_overlap=args.chunk_overlap,
        glob=args.glob,
        server=args.server,
        concurrency=args.concurrency,
        follow_symlinks=args.follow_symlinks,
        max_file_bytes=settings.max_upload_bytes,
    )
    try:
        if args.engine == "ray":
            from app.ingest.ray_engine import RayOptions, ingest_with_ray

            return ingest_with_ray(options, settings, RayOptions(actors=args.actors)).code
        return asyncio.run(ingest(options, settings)).code
    except KeyboardInterrupt:  # OUT is left as it was: the temp file is removed on the way out
        logging.getLogger("ragprep.ingest").error("interrupted")
        return 130


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "ingest",
        help="chunk and embed files into a JSONL file or a vector store",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "-o",
        "--output",
        metavar="OUT.jsonl",
        help="output file: JSONL, Parquet when it ends in .parquet, '-' for JSONL on stdout",
    )
    target.add_argument(
        "--vector-store",
        metavar="NAME",
        help="instead of -o: add the files to this vector store (created if missing) and wait "
        "until they are indexed; --chunk-capacity/--chunk-overlap become its chunking_strategy",
    )
    parser.add_argument("--model", help="embedding model name or alias (default: the server's)")
    parser.add_argument(
        "--chunk-capacity", type=_positive, metavar="N", help="most tokens per chunk"
    )
    parser.add_argument(
        "--chunk-overlap",
        type=_non_negative,
        default=0,
        metavar="N",
        help="tokens shared by neighbours",
    )
    parser.add_argument(
        "--glob", metavar="PATTERN", help="only files in folders whose name matches, e.g. '*.md'"
    )
    parser.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="follow symbolic links out of a folder and into linked folders (default: skip "
        "them, and list them in the summary)",
    )
    parser.add_argument("--server", metavar="URL", help="use a running server, not in-process")
    parser.add_argument(
        "--concurrency",
        type=_concurrency,
        default=4,
        metavar="N",
        help=f"files in flight, 1-{MAX_CONCURRENCY} (default: 4)",
    )
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (or --server); ray: a Ray Data pipeline on the cluster in "
        "RAY_ADDRESS or a local one (needs ragprep[ray]); same rows either way",
    )
    parser.add_argument(
        "--actors",
        type=_positive,
        default=1,
        metavar="N",
        help="with --engine ray: embedding actors, each with its own model context (default: 1)",
    )
    add_storage_options(parser)
    parser.set_defaults(handler=run)
