"""End-to-end `ragprep ingest` throughput on a folder of real documents, cold then warm.

Run from the repository root:

    python -m benchmarks.bench_ingest [--files 200] [--max-bytes 8000] [--concurrency 4]
        [--encoding base64|float] [--repeat-warm 1] [--piece-bytes 0] [--by-thread]

The folder holds the first --files distinct documents of `bench_chunking.load_corpus` (Debian
copyright files, the common licenses, the test documents) of at most --max-bytes each, so
one multi-megabyte file list does not make up the whole run. With --piece-bytes B the folder
holds short files instead, as a notes or FAQ folder would: the documents cut at blank lines into
distinct pieces of about B bytes (issue 20 measured 5,183 files of ~340 tokens; B 1400 gives
~3,000 such files here). Both runs go through the same
code as the CLI, in-process: the cold one on fresh storage (every file uploaded, chunked and
embedded), the warm one on the same storage (files reused, chunks from SQLite, vectors from
the embedding cache). Times are wall clock, with and without the app's start-up (migrations,
model load): the file loop alone is what the command's summary reports. --by-thread adds the
cold run's CPU seconds by thread (benchmarks/thread_cpu.py): "native" threads are the engine's
(its inference, and its compile at start-up), the rest is the service's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import re
import tempfile
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from app.ingest.run import EXIT_OK, IngestOptions, ingest
from benchmarks.bench_chunking import load_corpus
from benchmarks.thread_cpu import ThreadCpu

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"


@dataclass(frozen=True)
class Result:
    name: str
    wall: float  # the whole command, start-up included
    loop: float  # the files only: what the summary reports
    documents: int
    chunks: int
    tokens: int
    cached: int
    loop_cpu: float  # CPU seconds of the thread running the event loop, start-up included

    def line(self) -> str:
        return (
            f"{self.name:>5}: {self.documents} docs, {self.chunks} chunks "
            f"({self.cached} cached), {self.tokens:,} tokens | "
            f"files {self.loop:6.2f} s: {self.documents / self.loop:6.1f} docs/s, "
            f"{self.tokens / self.loop:8,.0f} tok/s | "
            f"with start-up {self.wall:6.2f} s: {self.documents / self.wall:6.1f} docs/s, "
            f"{self.tokens / self.wall:8,.0f} tok/s | "
            f"event loop CPU {self.loop_cpu / self.documents * 1000:.1f} ms/doc"
        )


def write_folder(folder: Path, files: int, max_bytes: int, piece_bytes: int = 0) -> int:
    """The documents (or their pieces) as files; numbered names keep them distinct and their
    suffix."""
    documents = load_corpus(megabytes=1e9)
    if piece_bytes:
        corpus = pieces(documents, piece_bytes)
    else:
        corpus = [(n, t) for n, t in documents if len(t.encode()) <= max_bytes]
    if len(corpus) < files:
        raise SystemExit(f"only {len(corpus)} documents of that size; ask for fewer")
    for index, (name, text) in enumerate(corpus[:files]):
        (folder / f"{index:04d}-{name}").write_text(text, encoding="utf-8")
    return sum(len(text.encode()) for _, text in corpus[:files])


def pieces(corpus: Sequence[tuple[str, str]], size: int) -> list[tuple[str, str]]:
    """Each text cut at blank lines into runs of paragraphs of about `size` bytes (a longer
    paragraph stays whole); repeated pieces (licence boilerplate) are kept once."""
    found: dict[str, str] = {}
    for name, text in corpus:
        piece = ""
        for paragraph in re.split(r"\n\s*\n", text):
            if piece and len(piece.encode()) + len(paragraph.encode()) > size:
                found.setdefault(piece, name)
                piece = ""
            piece += paragraph + "\n\n"
        if piece.strip():
            found.setdefault(piece, name)
    return [(name, text) for text, name in found.items()]


def timed_run(name: str, options: IngestOptions, settings: Settings) -> Result:
    started, cpu = time.perf_counter(), time.thread_time()
    outcome = asyncio.run(ingest(options, settings))
    wall, loop_cpu = time.perf_counter() - started, time.thread_time() - cpu
    summary = outcome.summary
    if outcome.code != EXIT_OK or summary is None:
        raise SystemExit(f"the {name} run exited {outcome.code}")
    return Result(
        name,
        wall,
        summary.seconds,
        summary.ingested,
        summary.chunks,
        summary.tokens,
        summary.cached,
        loop_cpu,
    )


def by_thread(spent: dict[str, float], run: Result) -> str:
    """The run's CPU by thread: the engine's own threads are the "native" ones."""
    total = sum(spent.values())
    lines = [f"  CPU by thread: {total:.1f} s in {run.wall:.1f} s ({total / run.wall:.2f} cores)"]
    for kind, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        share = seconds / total if total else 0.0
        per_doc = seconds / run.documents * 1000
        lines.append(f"    {kind:<36} {seconds:7.2f} s {share:6.1%} {per_doc:6.1f} ms/doc")
    return "\n".join(lines)


def machine_line() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    models = [
        line.split(":", 1)[1].strip()
        for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
        if line.startswith("model name")
    ]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"Machine: nproc {os.cpu_count()}, {models[0] if models else platform.processor()}, "
        f"Python {platform.python_version()}, load average {load}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=200, help="documents in the folder")
    parser.add_argument("--max-bytes", type=int, default=8_000, help="largest document")
    parser.add_argument("--concurrency", type=int, default=4, help="files in flight")
    parser.add_argument("--encoding", choices=("base64", "float"), default="base64")
    parser.add_argument("--piece-bytes", type=int, default=0, help="short files of ~B bytes")
    parser.add_argument("--repeat-warm", type=int, default=1, help="warm runs (best is kept)")
    parser.add_argument(
        "--by-thread", action="store_true", help="the cold run's CPU seconds by thread (Linux)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)  # the per-file lines would bury the figures
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="ragprep-bench-ingest-") as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        size = write_folder(folder, args.files, args.max_bytes, args.piece_bytes)
        print(f"Corpus: {args.files} documents, {size / 1e6:.2f} MB, in {folder}")
        settings = Settings(storage_dir=Path(tmp) / "storage", models_dir=MODELS)
        options = IngestOptions(
            paths=[folder],
            output=str(Path(tmp) / "out.jsonl"),
            concurrency=args.concurrency,
            encoding_format=args.encoding,
        )
        measure: AbstractContextManager[dict[str, float]] = (
            ThreadCpu().measuring() if args.by_thread else nullcontext({})
        )
        with measure as spent:
            cold = timed_run("cold", options, settings)
        print(cold.line())
        if spent:
            print(by_thread(spent, cold))
        warm = min(
            (timed_run("warm", options, settings) for _ in range(args.repeat_warm)),
            key=lambda r: r.loop,
        )
        print(warm.line())
    print(
        f"warm/cold: {cold.loop / warm.loop:.1f}x faster on the files, "
        f"{cold.wall / warm.wall:.1f}x with start-up "
        f"(concurrency {args.concurrency}, encoding {args.encoding})"
    )
    print(machine_line())


if __name__ == "__main__":
    main()
