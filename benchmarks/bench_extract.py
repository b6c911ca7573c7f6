"""Extraction + chunking throughput: PDF pages/s, HTML and DOCX MB/s, and peak RSS.

Run from the repository root (needs pandoc and chromium to make the documents, and
poppler-utils for the baseline):

    python -m benchmarks.bench_extract [--copies 2] [--rounds 3] [--model PATH.gguf]

The documents are real: Debian's licence texts (/usr/share/common-licenses) as Markdown,
rendered by pandoc to HTML and DOCX and printed to PDF by headless Chromium. Each round times
`extract_with` (worker process, IPC included) followed by `split_text` with the model's own
tokenizer and provenance (pages, headings) for every chunk, as /v1/chunks does, interleaved
with the baseline: poppler's `pdftotext` for PDF and `pandoc -t plain` for HTML/DOCX, run as
subprocesses on the same file. Figures are medians of the rounds.

OCR (needs tesseract-ocr): the PDF's first --scanned-pages pages scanned (greyscale JPEG pages at
300 dpi, no text layer) go the same way; their word accuracy is against pdftotext of the
original pages, and the baseline is pdftoppm + tesseract reading one page at a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from app.chunking.provenance import Locator
from app.chunking.splitter import split_text
from app.engine.base import Tokenizer
from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.worker import peak_rss_bytes
from app.registry.prepare import DEFAULT_GGUF_NAME
from tests.extract import documents

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "models" / DEFAULT_GGUF_NAME
LICENSES = ("GPL-3", "GPL-2", "LGPL-2.1", "Apache-2.0", "MPL-2.0", "GFDL-1.3", "Artistic")
MB = 1_000_000
OCR_DPI = 300  # the default RAGPREP_OCR_DPI


def licence_markdown(copies: int) -> str:
    """Each licence as a section: its name a heading, its paragraphs joined."""
    sections: list[str] = []
    for copy in range(1, copies + 1):
        for name in LICENSES:
            text = (Path("/usr/share/common-licenses") / name).read_text(encoding="utf-8")
            paragraphs = [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]
            sections.append(f"# {name} (copy {copy})\n\n" + "\n\n".join(paragraphs))
    return "\n\n".join(sections) + "\n"


def make_documents(root: Path, copies: int, scanned_pages: int) -> dict[str, Path]:
    markdown = licence_markdown(copies)
    html = root / "licences.html"
    documents.pandoc_file(markdown, html, "-s", "--metadata", "title=Licences")
    documents.pandoc_file(markdown, root / "licences.docx")
    documents.chromium_pdf(html, root / "licences.pdf")
    paths = {"pdf": root / "licences.pdf", "html": html, "docx": root / "licences.docx"}
    if scanned_pages and shutil.which("tesseract"):
        # The first pages of the PDF, and the same pages scanned (greyscale JPEG, OCR_DPI).
        original = root / "original.pdf"
        pages = f"1-{scanned_pages}"
        command = ["qpdf", "--empty", "--pages", str(paths["pdf"]), pages, "--", str(original)]
        subprocess.run(command, check=True)
        documents.scanned_pdf(original, root / "scan.pdf", dpi=OCR_DPI)
        paths["scan"] = root / "scan.pdf"
    return paths


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _ours(
    extractor: Extractor,
    tokenizer: Tokenizer,
    path: Path,
    extract_times: list[float],
    texts: list[str],
) -> Callable[[], tuple[int, int, int]]:
    data = path.read_bytes()

    def run() -> tuple[int, int, int]:
        started = time.perf_counter()
        document = extract_with(extractor, data, filename=path.name, limits=ExtractLimits())
        extract_times.append(time.perf_counter() - started)
        texts.append(document.text)
        chunks = split_text(
            text=document.text, model_tokenizer=tokenizer, markdown=document.markdown
        )
        locator = Locator(document)
        located = [locator.locate(chunk.start, chunk.end) for chunk in chunks]
        return len(document.pages), len(located), len(document.text.encode())

    return run


def _baseline(kind: str, path: Path) -> Callable[[], object]:
    if kind == "scan":
        return lambda: _serial_ocr(path)
    command = (
        ["pdftotext", str(path), "-"] if kind == "pdf" else ["pandoc", "-t", "plain", str(path)]
    )
    return lambda: subprocess.run(command, capture_output=True, check=True)


def _serial_ocr(scan: Path) -> None:
    """The plain pipeline: pdftoppm renders every page, then tesseract reads one at a time."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "page"
        command = ["pdftoppm", "-r", str(OCR_DPI), "-gray", str(scan), str(prefix)]
        subprocess.run(command, check=True)
        for page in sorted(Path(tmp).glob("page-*.pgm")):
            subprocess.run(["tesseract", str(page), "stdout"], capture_output=True, check=True)


def measure(
    kind: str, path: Path, extractor: Extractor, tokenizer: Tokenizer, rounds: int
) -> dict[str, float]:
    extract_times: list[float] = []
    texts: list[str] = []
    ours, base = _ours(extractor, tokenizer, path, extract_times, texts), _baseline(kind, path)
    pages, chunks, text_bytes = ours()  # warm-up: worker started, tokenizer caches filled
    extract_times.clear()
    ours_times: list[float] = []
    base_times: list[float] = []
    for _ in range(rounds):
        ours_times.append(_timed(ours))
        base_times.append(_timed(base))
    seconds, baseline = statistics.median(ours_times), statistics.median(base_times)
    return {
        "pages": float(pages),
        "chunks": float(chunks),
        "mb": path.stat().st_size / MB,
        "text_mb": text_bytes / MB,
        "seconds": seconds,
        "extract_seconds": statistics.median(extract_times),
        "baseline_seconds": baseline,
        "accuracy": _accuracy(path, texts[0]) if kind == "scan" else 1.0,
    }


def _accuracy(scan: Path, text: str) -> float:
    """The share of pdftotext's words of the original pages that OCR read (with multiplicity)."""
    return documents.coverage(documents.pdftotext(scan.with_name("original.pdf")), text)


def report(kind: str, result: dict[str, float]) -> None:
    seconds, ratio = result["seconds"], result["baseline_seconds"] / result["seconds"]
    if kind == "pdf":
        rate = f"{result['pages'] / seconds:7.1f} pages/s ({result['pages']:.0f} pages)"
        baseline = "pdftotext"
    elif kind == "scan":
        rate = (
            f"{result['pages'] / seconds:7.2f} pages/s ({result['pages']:.0f} pages OCR'd at "
            f"{OCR_DPI} dpi), word accuracy {result['accuracy']:.2%}"
        )
        baseline = "pdftoppm + tesseract, a page at a time"
    else:
        rate = (
            f"{result['mb'] / seconds:7.2f} MB/s of file ({result['mb']:.2f} MB), "
            f"{result['text_mb'] / seconds:.2f} MB/s of text"
        )
        baseline = "pandoc -t plain"
    print(
        f"{kind:>4}: {rate}, {result['chunks']:.0f} chunks, {seconds:.3f} s extract+chunk "
        f"(extract {result['extract_seconds']:.3f} s); "
        f"{baseline} {result['baseline_seconds']:.3f} s (ours is {ratio:.2f}x its speed)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="GGUF model")
    parser.add_argument("--copies", type=int, default=2, help="copies of the licence set")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median)")
    parser.add_argument(
        "--scanned-pages", type=int, default=6, help="pages of the PDF scanned for OCR (0: none)"
    )
    args = parser.parse_args(argv)
    missing = documents.missing_tools()
    if missing:
        sys.exit(f"needs {', '.join(missing)} to make the documents")
    if not args.model.exists():
        sys.exit(f"{args.model} is missing: run `make model` (or pass --model PATH.gguf)")
    from app.engine.llama import LlamaTokenizer

    tokenizer = LlamaTokenizer(args.model)
    print(f"machine: {machine()}")
    extractor = Extractor()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_documents(Path(tmp), args.copies, args.scanned_pages)
            for kind, path in paths.items():
                report(kind, measure(kind, path, extractor, tokenizer, args.rounds))
        print(
            f"peak RSS: extraction worker {extractor.peak_rss_bytes / MB:.0f} MB, "
            f"this process (model tokenizer, chunking) {peak_rss_bytes() / MB:.0f} MB"
        )
    finally:
        extractor.close()


if __name__ == "__main__":
    main()
