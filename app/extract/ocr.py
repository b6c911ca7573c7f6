"""OCR with Tesseract 5 (Debian's `tesseract-ocr`), one `tesseract` process per page image.

Chosen by measurement over RapidOCR on ONNX Runtime (benchmarks/bench_ocr.py, README): on the
same rendered pages Tesseract read 99.8% of the words against RapidOCR's 86%, several times
faster, in a tenth of the memory and a twentieth of the installed size. The command line, not a
binding: nothing to compile, and each page is a child process that the extraction worker's time
limit can kill with it (the worker leads a process group; see worker.py). Pages go to
`threads` processes at once, each on one core (OMP_THREAD_LIMIT=1), the order kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from app.errors import UnprocessableDocument
from app.extract.base import OcrOptions, corrupt_document

INSTALL_HINT = (
    "install Tesseract 5 and its language data (Debian/Ubuntu: `apt-get install tesseract-ocr`; "
    "in a checkout: `make ocr-deps`), or set RAGPREP_OCR=false"
)
_PAGE_BREAK = "\f"  # tesseract's separator after each page of a multi-frame image


def tesseract(options: OcrOptions, *, filename: str) -> str:
    """The tesseract binary's path; raises the 422 that says how to install it."""
    path = shutil.which(options.command)
    if path is None:
        raise UnprocessableDocument(
            f"File {filename!r} needs OCR (it has pages without a text layer), and the OCR "
            f"engine is not installed: {INSTALL_HINT}",
            subject="file",
            code="ocr_unavailable",
        )
    return path


def pgm(width: int, height: int, stride: int, grey: bytes | memoryview) -> bytes:
    """An 8-bit greyscale image as binary PGM, which tesseract reads from stdin as is."""
    rows = memoryview(grey)
    if stride == width:
        body = bytes(rows[: width * height])
    else:
        body = b"".join(rows[y * stride : y * stride + width] for y in range(height))
    return b"P5 %d %d 255\n" % (width, height) + body


def read_pages(
    images: Iterable[bytes], options: OcrOptions, *, filename: str, deadline: float
) -> Iterator[str]:
    """The text of each page image, in order; images are taken from `images` as threads free.

    `images` is consumed in the caller's thread (PDFium renders there: it is not thread-safe).
    """
    command = _command(tesseract(options, filename=filename), options)
    with ThreadPoolExecutor(max(1, options.threads), thread_name_prefix="ocr") as pool:
        pending: list[Future[str]] = []
        for image in images:
            pending.append(pool.submit(_run, command, image, filename, deadline))
            if len(pending) >= max(1, options.threads):
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def read_frames(data: bytes, options: OcrOptions, *, filename: str, deadline: float) -> list[str]:
    """The text of each frame of a PNG, JPEG or (multi-page) TIFF file, in order."""
    command = _command(tesseract(options, filename=filename), options)
    text = _run(command, data, filename, deadline)
    frames = text.split(_PAGE_BREAK)
    if len(frames) > 1 and not frames[-1].strip():
        frames.pop()  # the separator follows every page, the last one too
    return frames


def _command(binary: str, options: OcrOptions) -> list[str]:
    # `--dpi`: pages rendered by us have a known resolution; for image files tesseract reads
    # it from the file's header and only falls back to this.
    return [binary, "stdin", "stdout", "-l", options.languages, "--dpi", str(options.dpi)]


def _run(command: list[str], image: bytes, filename: str, deadline: float) -> str:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run(
            command,
            input=image,
            capture_output=True,
            env=env,
            timeout=max(1.0, deadline - time.monotonic()),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise UnprocessableDocument(
            f"File {filename!r} took longer than the extraction limit to OCR; "
            "split it into smaller files",
            subject="file",
            code="extraction_timeout",
        ) from exc
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        if any("Failed loading language" in line for line in reason):
            raise UnprocessableDocument(
                f"File {filename!r} needs OCR, and Tesseract has no data for "
                f"{command[4]!r}: {INSTALL_HINT} (tesseract-ocr-LANG for other languages)",
                subject="file",
                code="ocr_unavailable",
            )
        raise corrupt_document(
            filename, "has an image that OCR cannot read (damaged or unusual); upload a clean scan"
        )
    return done.stdout.decode("utf-8", errors="replace")
