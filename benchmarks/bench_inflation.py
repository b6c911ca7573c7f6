"""Peak memory of the extraction worker on documents that inflate (issue 24).

Each sample runs in a fresh worker, in a fresh process of this script, and reports the outcome,
the time and the worker's peak RSS (the largest reaped child, so a worker that dies at its
memory cap is measured too). Run it from another checkout to measure older code:

    python -m benchmarks.bench_inflation                 # every sample, this checkout
    python -m benchmarks.bench_inflation --overhead      # the markup scan's cost vs conversion
    cd ../main && python /path/to/benchmarks/bench_inflation.py   # the same samples, main's app/
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
import zipfile

SAMPLES = ("html-quotes", "html-table", "docx-runs")
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _docx(runs: int) -> bytes:
    """A minimal Word document: one paragraph of `runs` runs of 960 characters each."""
    run = '<w:r><w:t xml:space="preserve">' + "lorem ipsum " * 80 + "</w:t></w:r>"
    document = f"<w:document {W}><w:body><w:p>{run * runs}</w:p></w:body></w:document>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        )
        archive.writestr("word/document.xml", document)
    return out.getvalue()


def sample(name: str) -> tuple[str, bytes]:
    if name == "html-quotes":  # 504 kB; 60 M characters of Markdown
        return "quotes.html", ("<blockquote>" * 300 + "<p>" + "x<br>" * 100_000).encode()
    if name == "html-table":  # 5.7 MB; one wide cell pads 300,000 rows
        rows = "<tr><td>y</td></tr>" * 300_000
        return "table.html", f"<table><tr><td>{'w' * 300}</td></tr>{rows}</table>".encode()
    if name == "docx-runs":  # 48 M characters of text in a small zip
        return "runs.docx", _docx(50_000)
    raise ValueError(name)


def run_one(name: str) -> dict[str, object]:
    sys.path.insert(0, os.getcwd())  # the checkout whose app/ is measured
    from app.errors import ServiceError
    from app.extract import ExtractLimits, Extractor, extract_with

    filename, data = sample(name)
    limits = ExtractLimits(seconds=120.0)  # the defaults otherwise: 32 M characters
    extractor = Extractor()
    started = time.perf_counter()
    try:
        document = extract_with(extractor, data, filename=filename, limits=limits)
        outcome = f"200, {len(document.text):,} characters"
    except ServiceError as exc:
        outcome = f"{exc.status_code} {exc.code}"
    seconds = time.perf_counter() - started
    extractor.close()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {
        "sample": name,
        "bytes": len(data),
        "outcome": outcome,
        "seconds": round(seconds, 2),
        "peak_mb": peak >> 20,
    }


def overhead(rounds: int) -> None:
    """The scan's time against html-to-markdown's on ordinary pages, interleaved, medians."""
    import statistics
    from pathlib import Path

    import html_to_markdown

    from app.extract import ExtractLimits
    from app.extract.markup_growth import markup_growth

    docs = Path(__file__).resolve().parents[1] / "tests" / "data" / "docs"
    pages = {
        "README as HTML (pandoc)": _pandoc(docs / "fastapi-readme.md"),
        "GPL as HTML (pandoc)": _pandoc(docs / "gpl-3.txt"),
        "data table, 60k cells": "<table>"
        + ("<tr>" + "<td>cell value</td>" * 20 + "</tr>") * 3000
        + "</table>",
        "lists and quotes, 1 MB": (
            "<ul><li>item <b>bold</b><ul><li>sub item</li></ul></li></ul>"
            "<blockquote><p>quoted</p></blockquote><p>paragraph text</p>\n"
        )
        * 8000,
    }
    options = html_to_markdown.ConversionOptions()
    limit = ExtractLimits().max_chars  # what the worker passes: the default text limit
    for name, html in pages.items():
        scans, converts = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            markup_growth(html, stop_above=limit)
            scans.append(time.perf_counter() - started)
            started = time.perf_counter()
            html_to_markdown.convert(html, options)
            converts.append(time.perf_counter() - started)
        scan, convert = statistics.median(scans), statistics.median(converts)
        print(
            f"{name:26} {len(html):>9,} chars  scan {scan * 1000:7.1f} ms  "
            f"convert {convert * 1000:7.1f} ms  scan/convert {scan / convert:.2f}"
        )


def _pandoc(path: object) -> str:
    done = subprocess.run(
        ["pandoc", "-f", "markdown", "-t", "html", "-s", "--metadata", "title=x", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", nargs="*", help=f"some of {', '.join(SAMPLES)}")
    parser.add_argument("--one", choices=SAMPLES, help=argparse.SUPPRESS)
    parser.add_argument("--overhead", action="store_true", help="time the scan, not memory")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if args.overhead:
        print(f"load average before: {os.getloadavg()}")
        overhead(args.rounds)
        print(f"load average after: {os.getloadavg()}")
        return
    chosen = args.samples or list(SAMPLES)
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    print(f"load average before: {os.getloadavg()}")
    for name in chosen:
        done = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--one", name],
            capture_output=True,
            text=True,
            check=False,
        )
        print(done.stdout.strip() or done.stderr.strip().splitlines()[-1])
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
