"""Progress while ingesting (a tqdm bar on a terminal, log lines otherwise) and the summary."""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field

from tqdm import tqdm

from app.ingest.walk import InputFile

log = logging.getLogger("ragprep.ingest")


@dataclass
class FileResult:
    file: InputFile
    lines: list[str] = field(default_factory=list)
    tokens: int = 0
    cached: int = 0
    uploaded: bool = False
    skipped: str | None = None  # reason: the file is not ingestible, which is not an error
    failed: str | None = None  # reason: something went wrong; the run exits 1


@dataclass
class Summary:
    found: int
    ingested: int = 0
    chunks: int = 0
    tokens: int = 0
    cached: int = 0
    uploaded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / max(self.seconds, 1e-9)

    def add(self, result: FileResult) -> None:
        name = result.file.display
        if result.skipped is not None:
            self.skipped.append((name, result.skipped))
        elif result.failed is not None:
            self.failed.append((name, result.failed))
        else:
            self.ingested += 1
            self.chunks += len(result.lines)
            self.tokens += result.tokens
            self.cached += result.cached
            self.uploaded += result.uploaded


class Progress:
    """Feeds results into the summary and shows them: a bar on a TTY, one log line otherwise."""

    def __init__(self, summary: Summary, *, tty: bool | None = None) -> None:
        self.summary = summary
        self.tty = sys.stderr.isatty() if tty is None else tty
        size = _bar_size() if self.tty else (None, None)
        self.bar = tqdm(
            total=summary.found,
            unit="file",
            desc="ingest",
            disable=not self.tty,
            file=sys.stderr,
            ncols=size[0],
            nrows=size[1],
        )

    def done(self, result: FileResult) -> None:
        self.summary.add(result)
        name = result.file.display
        if result.skipped is not None:
            log.warning("skipped %s: %s", name, result.skipped)
        elif result.failed is not None:
            log.error("failed %s: %s", name, result.failed)
        elif not self.tty:
            log.info(
                "ingested %s: %d chunks (%d cached), %d tokens%s",
                name,
                len(result.lines),
                result.cached,
                result.tokens,
                ", uploaded" if result.uploaded else "",
            )
        self.bar.update(1)
        rate = f"{self.summary.tokens_per_second:,.0f}"
        self.bar.set_postfix(chunks=self.summary.chunks, tok_s=rate, refresh=False)

    def close(self) -> None:
        self.bar.close()


def _bar_size() -> tuple[int | None, int | None]:
    """A size for a terminal reporting 0x0 (a pty nobody sized), where tqdm would hide its bar;
    (None, None) otherwise, so tqdm follows the real size."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        return None, None
    return (None, None) if size.columns and size.lines else (80, 24)


def log_summary(summary: Summary, output: str, written: bool) -> None:
    log.info(
        "ingest summary: %d files found, %d ingested (%d uploaded), %d skipped, %d failed; "
        "%d chunks, %d tokens, %d cached chunks; %.2f s, %.0f tokens/s",
        summary.found,
        summary.ingested,
        summary.uploaded,
        len(summary.skipped),
        len(summary.failed),
        summary.chunks,
        summary.tokens,
        summary.cached,
        summary.seconds,
        summary.tokens_per_second,
    )
    for name, reason in summary.skipped:
        log.info("  skipped %s: %s", name, reason)
    for name, reason in summary.failed:
        log.info("  failed %s: %s", name, reason)
    if written:
        log.info("wrote %d chunks to %s", summary.chunks, output)
    elif summary.failed:
        log.error(
            "%s not written: %d files failed (re-runs reuse finished work)",
            output,
            len(summary.failed),
        )
