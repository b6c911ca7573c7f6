"""Parsers run in long-lived worker processes that a time limit can kill.

PDFium is not thread-safe, and no parser can be interrupted from another thread; a process can
be. Each worker serves one document at a time; a worker that overruns the limit (or crashes) is
killed and a fresh one is spawned for the next document, so one hostile file costs at most the
limit and never corrupts later work. Workers are spawned (not forked): the server has threads.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import resource
import signal
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from app.errors import DomainError, UnprocessableDocument
from app.extract.base import Document, ExtractLimits, corrupt_document
from app.extract.detect import Kind

log = logging.getLogger(__name__)

_STARTUP_SECONDS = 60.0
# An address-space cap turns a decompression bomb inside a PDF stream into a failed allocation
# in the worker instead of memory pressure on the whole server.
DEFAULT_MEMORY_BYTES = 4 << 30


def peak_rss_bytes() -> int:
    """This process's peak resident set size (VmHWM), 0 where /proc is unavailable."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _serve(conn: Connection, memory_bytes: int) -> None:
    """The worker's loop: (kind, data, filename, limits) in, ("ok"|"error", value, rss) out."""
    from app.extract.parsers import parse  # imported here: only the worker needs the parsers

    # Its own process group, so that a kill at the time limit takes the OCR processes it runs
    # along with it (see stop()).
    os.setpgrp()
    if memory_bytes:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            memory_bytes = min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, hard))
    conn.send("ready")
    while (job := conn.recv()) is not None:
        kind, data, filename, limits = job
        reply: tuple[str, Any, int]
        try:
            reply = ("ok", parse(kind, data, filename=filename, limits=limits), 0)
        except DomainError as exc:
            reply = ("error", exc, 0)
        except MemoryError:
            reply = ("error", _failed(filename, "needs more memory than allowed"), 0)
        except Exception:  # a parser library's bug on odd input must not end the worker
            log.exception("extracting %r failed", filename)
            reply = ("error", _failed(filename, "could not be read (damaged or unusual)"), 0)
        conn.send((reply[0], reply[1], peak_rss_bytes()))


def _failed(filename: str, why: str) -> UnprocessableDocument:
    return corrupt_document(filename, f"{why}; check the file and upload an intact copy")


class _Worker:
    """One process and its pipe, started on first use and after every kill."""

    def __init__(self, memory_bytes: int) -> None:
        self._memory_bytes = memory_bytes
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.peak_rss_bytes = 0

    def _start(self) -> Connection:
        if self._conn is not None:
            return self._conn
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve, args=(child, self._memory_bytes), name="ragprep-extract", daemon=True
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        if not parent.poll(_STARTUP_SECONDS) or parent.recv() != "ready":
            self.stop()
            raise RuntimeError("the extraction worker did not start")
        return parent

    def run(self, kind: Kind, data: bytes, filename: str, limits: ExtractLimits) -> Document:
        conn = self._start()
        deadline = time.monotonic() + limits.seconds
        try:
            conn.send((kind, data, filename, limits))
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                self.stop()
                raise UnprocessableDocument(
                    f"File {filename!r} took longer than the {limits.seconds:g} s extraction "
                    "limit; split it into smaller files",
                    subject="file",
                    code="extraction_timeout",
                )
            status, value, self.peak_rss_bytes = conn.recv()
        except (EOFError, OSError) as exc:  # the worker died (killed by the OS, crashed)
            self.stop()
            raise _failed(filename, "made the extractor fail") from exc
        if status == "error":
            raise value
        document: Document = value
        return document

    def stop(self) -> None:
        if self._process is not None:
            if self._process.pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self._process.pid, signal.SIGKILL)
            self._process.kill()
            self._process.join()
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


class Extractor:
    """A pool of `workers` extraction processes; safe to call from many threads at once."""

    def __init__(self, *, workers: int = 1, memory_bytes: int = DEFAULT_MEMORY_BYTES) -> None:
        self._all = [_Worker(memory_bytes) for _ in range(workers)]
        self._idle: queue.Queue[_Worker] = queue.Queue()
        for worker in self._all:
            self._idle.put(worker)

    def run(self, kind: Kind, data: bytes, *, filename: str, limits: ExtractLimits) -> Document:
        worker = self._idle.get()
        try:
            return worker.run(kind, data, filename, limits)
        finally:
            self._idle.put(worker)

    @property
    def peak_rss_bytes(self) -> int:
        """The largest peak RSS any worker reported (for benchmarks and memory tests)."""
        return max(worker.peak_rss_bytes for worker in self._all)

    @property
    def pids(self) -> list[int]:
        return [pid for worker in self._all if (pid := worker.pid) is not None]

    def close(self) -> None:
        for worker in self._all:
            worker.stop()
