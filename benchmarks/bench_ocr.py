"""OCR engines compared on scans of a real document: word accuracy, pages/s, peak RSS, size.

Run from the repository root (needs pandoc, chromium, poppler-utils and tesseract-ocr):

    python -m benchmarks.bench_ocr [--pages 6] [--rounds 3] [--dpi 150 300] [--engines ...]

The document is Debian's GPL-3 (as the extraction tests make it), printed to PDF by headless
Chromium. Each page is rendered to a greyscale JPEG at each resolution (pdftoppm) and wrapped
as an image-only PDF: a clean scan at that dpi. Each engine reads the scan's pages, rendered
by pypdfium2 at the same dpi, and its words are compared with `pdftotext` of the original:

- recall (word accuracy): the share of the reference's words (with multiplicity) it found;
- 1 - F1 with precision (the share of its words that are in the reference) as a word error rate.

Pages/s is wall time on this machine, whatever else runs on it; CPU s/page (this process and
its children, including start-up) says what an idle machine would do: its cores / CPU s/page.

Engines, interleaved per round, medians reported, each round in a fresh process so that its
peak RSS is its own:

- tesseract: ragprep's own path (app.extract: the extraction worker, `ocr_threads` tesseract
  processes of one core each), i.e. what a user gets;
- rapidocr: RapidOCR on ONNX Runtime (`pip install rapidocr-onnxruntime==1.4.4`, the last
  build that ships its models inside the wheel), when installed; skipped otherwise.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.bench_extract import machine
from tests.extract import documents

ENGINES = ("tesseract", "rapidocr")
RAPIDOCR_DISTRIBUTIONS = ("rapidocr-onnxruntime", "onnxruntime", "opencv-python", "shapely")
MB = 1_000_000


def make_scans(root: Path, pages: int, dpis: Sequence[int]) -> tuple[Path, dict[int, Path]]:
    """The text PDF (its first `pages` pages) and its scan at each dpi."""
    html = root / "gpl.html"
    documents.pandoc_file(documents.gpl_markdown(), html, "-s", "--metadata", "title=GPL")
    full = root / "full.pdf"
    documents.chromium_pdf(html, full)
    text_pdf = root / "gpl.pdf"
    subprocess.run(
        ["qpdf", "--empty", "--pages", str(full), f"1-{pages}", "--", str(text_pdf)], check=True
    )
    scans = {dpi: root / f"scan-{dpi}.pdf" for dpi in dpis}
    for dpi, scan in scans.items():
        documents.scanned_pdf(text_pdf, scan, dpi=dpi)
    return text_pdf, scans


def scores(reference: str, text: str) -> dict[str, float]:
    recall = documents.coverage(reference, text)
    precision = documents.coverage(text, reference) if text.strip() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": recall, "wer": 1 - f1}


def run_tesseract(scan: Path, dpi: int) -> tuple[str, int]:
    from app.extract import Extractor, extract_with
    from app.extract.base import ExtractLimits, OcrOptions

    extractor = Extractor()
    try:
        limits = ExtractLimits(seconds=3600, ocr=OcrOptions(dpi=dpi))
        document = extract_with(extractor, scan.read_bytes(), filename=scan.name, limits=limits)
    finally:
        extractor.close()
    return document.text, len(document.ocr_pages)


def run_rapidocr(scan: Path, dpi: int) -> tuple[str, int]:
    import numpy as np
    import pypdfium2 as pdfium
    from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-not-found,unused-ignore]

    engine = RapidOCR()
    pdf = pdfium.PdfDocument(scan)
    texts = []
    for index in range(len(pdf)):
        grey = pdf[index].render(scale=dpi / 72, grayscale=True).to_numpy()
        lines, _ = engine(np.stack([grey] * 3, axis=-1))
        texts.append("\n".join(line[1] for line in lines or []))
    return "\n\n".join(texts), len(pdf)


def child(engine: str, scan: Path, dpi: int, reference: Path) -> dict[str, Any]:
    """One engine on one scan, in this (fresh) process."""
    import resource

    started = time.perf_counter()
    text, pages = (run_tesseract if engine == "tesseract" else run_rapidocr)(scan, dpi)
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the worker and its tesseracts
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return {
        "pages_per_s": pages / seconds,
        "cpu_per_page": cpu / pages,
        "peak_rss": max(own.ru_maxrss, children.ru_maxrss) * 1024,
        **scores(documents.pdftotext(reference), text),
    }


def measure(engine: str, scan: Path, dpi: int, reference: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.bench_ocr", "--child", engine]
    command += [str(scan), str(dpi), str(reference)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def installed_size(engine: str) -> str:
    if engine == "tesseract":
        packages = ["tesseract-ocr", "tesseract-ocr-eng", "libtesseract5", "liblept5"]
        sizes = subprocess.run(
            ["dpkg-query", "-W", "-f=${Installed-Size}\n", *packages],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        return f"{sum(int(s) for s in sizes) / 1024:.0f} MB ({' '.join(packages)})"
    total = 0
    for dist in RAPIDOCR_DISTRIBUTIONS:
        try:
            files = importlib.metadata.distribution(dist).files or []
        except importlib.metadata.PackageNotFoundError:
            continue
        total += sum(
            path.stat().st_size for f in files if (path := Path(str(f.locate()))).is_file()
        )
    return f"{total / MB:.0f} MB ({', '.join(RAPIDOCR_DISTRIBUTIONS)})"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=6, help="pages of the GPL to scan")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median)")
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 300])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        engine, scan, dpi, reference = args.child
        print(json.dumps(child(engine, Path(scan), int(dpi), Path(reference))))
        return
    has_rapidocr = importlib.util.find_spec("rapidocr_onnxruntime") is not None
    engines = [e for e in args.engines if e == "tesseract" or has_rapidocr]
    print(f"machine: {machine()}")
    print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    with tempfile.TemporaryDirectory() as tmp:
        reference, scans = make_scans(Path(tmp), args.pages, args.dpi)
        results: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for _ in range(args.rounds):
            for dpi, scan in scans.items():
                for engine in engines:
                    results.setdefault((engine, dpi), []).append(
                        measure(engine, scan, dpi, reference)
                    )
    for (engine, dpi), runs in results.items():
        median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(
            f"{engine:>9} {dpi} dpi: word accuracy {median['accuracy']:.2%}, "
            f"WER (1-F1) {median['wer']:.2%}, {median['pages_per_s']:.2f} pages/s, "
            f"{median['cpu_per_page']:.2f} CPU s/page, "
            f"peak RSS {median['peak_rss'] / MB:.0f} MB (largest process)"
        )
    for engine in engines:
        print(f"{engine:>9} installed: {installed_size(engine)}")
    print(f"load average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
