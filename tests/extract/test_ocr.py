"""OCR: scanned PDF pages and image files, read by Tesseract in the extraction worker.

The scans are real: pages of the Chromium-printed GPL rendered to greyscale JPEGs by pdftoppm
and wrapped as image-only PDF pages (documents.scanned_pdf); PNG/JPEG/TIFF files by pdftoppm
and tiffcp. pdftotext of the original is the reference.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from app.errors import UnprocessableDocument, UnsupportedMedia
from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.base import Document, OcrOptions
from tests.extract import bombs, documents
from tests.extract.conftest import Corpus

LIMITS = ExtractLimits(seconds=300)
OFF = replace(LIMITS, ocr=OcrOptions(enabled=False))


@dataclass(frozen=True)
class Scans:
    original: Path  # the first 4 pages of the text PDF
    scan: bytes  # all 4 as images
    mixed: bytes  # pages 2-3 as images, 1 and 4 with their text layer
    png: bytes  # page 2 (page 1 is the table of contents, no prose)
    jpeg: bytes  # page 3
    tiff: bytes  # pages 2-4, one frame each


@pytest.fixture(scope="module")
def scans(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Scans:
    missing = [tool for tool in ("tesseract", "tiffcp") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (listed in .ci/apt-packages.txt)")
    root = tmp_path_factory.mktemp("ocr")
    original = root / "original.pdf"
    subprocess.run(
        ["qpdf", "--empty", "--pages", str(corpus.pdf_path), "1-4", "--", str(original)],
        check=True,
    )
    scan = documents.scanned_pdf(original, root / "scan.pdf")
    mixed = documents.mixed_pdf(original, root / "scan.pdf", root / "mixed.pdf", "2-3")
    return Scans(
        original=original,
        scan=scan,
        mixed=mixed,
        png=_image(original, root / "page", "-png", 2, "png"),
        jpeg=_image(original, root / "page", "-jpeg", 3, "jpg"),
        tiff=_tiff(original, root),
    )


def _image(pdf: Path, prefix: Path, kind: str, page: int, suffix: str) -> bytes:
    command = ["pdftoppm", "-r", "300", "-gray", kind, "-f", str(page), "-l", str(page)]
    subprocess.run([*command, "-singlefile", str(pdf), str(prefix)], check=True)
    return prefix.with_suffix(f".{suffix}").read_bytes()


def _tiff(pdf: Path, root: Path) -> bytes:
    command = ["pdftoppm", "-r", "300", "-gray", "-tiff", "-tiffcompression", "lzw"]
    subprocess.run([*command, "-f", "2", "-l", "4", str(pdf), str(root / "frame")], check=True)
    frames = sorted(str(path) for path in root.glob("frame-*.tif"))
    subprocess.run(["tiffcp", *frames, str(root / "frames.tif")], check=True)
    return (root / "frames.tif").read_bytes()


def _extract(extractor: Extractor, data: bytes, name: str, limits: ExtractLimits) -> Document:
    return extract_with(extractor, data, filename=name, limits=limits)


def _page_words(pdf: Path, page: int) -> Counter[str]:
    return Counter(documents.words(documents.pdftotext(pdf, page, page)))


def test_a_scanned_pdf_is_read_page_by_page(scans: Scans, extractor: Extractor) -> None:
    document = _extract(extractor, scans.scan, "scan.pdf", LIMITS)
    assert document.ocr_pages == [1, 2, 3, 4]
    assert len(document.pages) == 4
    assert documents.coverage(documents.pdftotext(scans.original), document.text) >= 0.95
    assert documents.coverage(document.text, documents.pdftotext(scans.original)) >= 0.95
    # Words poppler finds only on page 3 of the original are on page 3 of the OCR'd text.
    per_page = [_page_words(scans.original, n) for n in range(1, 5)]
    only_third = [
        w for w in per_page[2] if not any(w in p for i, p in enumerate(per_page) if i != 2)
    ]
    start, end = document.pages[2]
    found = set(documents.words(document.text[start:end]))
    assert len(only_third) >= 5
    assert sum(word in found for word in only_third) >= 0.9 * len(only_third)


def test_a_mixed_pdf_reads_only_its_image_pages(scans: Scans, extractor: Extractor) -> None:
    mixed = _extract(extractor, scans.mixed, "mixed.pdf", LIMITS)
    text_only = _extract(extractor, scans.original.read_bytes(), "original.pdf", LIMITS)
    assert mixed.ocr_pages == [2, 3]
    assert text_only.ocr_pages == []
    for page in (0, 3):  # the pages with a text layer come from it, exactly
        start, end = mixed.pages[page]
        twin_start, twin_end = text_only.pages[page]
        assert mixed.text[start:end] == text_only.text[twin_start:twin_end]
    for page in (1, 2):
        start, end = mixed.pages[page]
        reference = documents.pdftotext(scans.original, page + 1, page + 1)
        assert documents.coverage(reference, mixed.text[start:end]) >= 0.95


def test_ocr_off_refuses_scans_and_images_as_before(scans: Scans, extractor: Extractor) -> None:
    with pytest.raises(UnprocessableDocument) as caught:
        _extract(extractor, scans.scan, "scan.pdf", OFF)
    assert caught.value.code == "no_text_layer"
    assert "RAGPREP_OCR" in caught.value.message
    mixed = _extract(extractor, scans.mixed, "mixed.pdf", OFF)
    assert mixed.ocr_pages == []
    assert mixed.text[mixed.pages[1][0] : mixed.pages[2][1]].strip() == ""
    with pytest.raises(UnsupportedMedia):
        _extract(extractor, scans.png, "page.png", OFF)


def test_without_tesseract_the_error_says_how_to_install_it(
    scans: Scans, extractor: Extractor
) -> None:
    absent = replace(LIMITS, ocr=OcrOptions(command="tesseract-not-installed"))
    for data, name in ((scans.scan, "scan.pdf"), (scans.jpeg, "page.jpg")):
        with pytest.raises(UnprocessableDocument) as caught:
            _extract(extractor, data, name, absent)
        assert caught.value.code == "ocr_unavailable"
        assert "apt-get install tesseract-ocr" in caught.value.message
        assert "RAGPREP_OCR=false" in caught.value.message
    # Text pages need no OCR, so no engine either.
    text = _extract(extractor, scans.original.read_bytes(), "original.pdf", absent)
    assert text.ocr_pages == []


@pytest.mark.parametrize(
    ("attribute", "media_type", "pages"),
    [("png", "image/png", [2]), ("jpeg", "image/jpeg", [3]), ("tiff", "image/tiff", [2, 3, 4])],
)
def test_images_are_documents_one_page_per_frame(
    scans: Scans, extractor: Extractor, attribute: str, media_type: str, pages: list[int]
) -> None:
    document = _extract(extractor, getattr(scans, attribute), f"image.{attribute}", LIMITS)
    assert document.media_type == media_type
    assert document.ocr_pages == list(range(1, len(pages) + 1))
    assert len(document.pages) == len(pages)
    for (start, end), page in zip(document.pages, pages, strict=True):
        reference = documents.pdftotext(scans.original, page, page)
        assert documents.coverage(reference, document.text[start:end]) >= 0.95


def test_a_damaged_image_is_corrupt(scans: Scans, extractor: Extractor) -> None:
    with pytest.raises(UnprocessableDocument) as caught:
        _extract(extractor, scans.png[: len(scans.png) // 3], "cut.png", LIMITS)
    assert caught.value.code == "corrupt_document"


def test_an_image_bomb_is_refused_within_the_memory_limit(extractor: Extractor) -> None:
    if shutil.which("tesseract") is None:
        pytest.skip("needs tesseract (listed in .ci/apt-packages.txt)")
    bomb = bombs.png_bomb(60000)
    assert len(bomb) < 1 << 20
    with pytest.raises(UnprocessableDocument) as caught:
        _extract(extractor, bomb, "bomb.png", LIMITS)
    # The worker's address-space cap holds for the tesseract it starts: the image is refused.
    assert caught.value.code == "corrupt_document"


def test_a_long_scan_stops_at_the_time_limit_with_its_ocr(scans: Scans, corpus: Corpus) -> None:
    extractor = Extractor()
    try:
        _extract(extractor, corpus.html, "warm-up.html", LIMITS)  # starts the worker
        (group,) = extractor.pids  # it leads its own process group
        with pytest.raises(UnprocessableDocument) as caught:
            _extract(extractor, scans.scan, "long.pdf", replace(LIMITS, seconds=1.5))
        assert caught.value.code == "extraction_timeout"
        # Killed with its whole group: no tesseract it started reads on past the limit.
        assert extractor.pids == []
        assert _members(group) == []
        # The next document gets a fresh worker.
        document = _extract(extractor, scans.original.read_bytes(), "next.pdf", LIMITS)
        assert len(document.pages) == 4
    finally:
        extractor.close()


def _members(group: int) -> list[str]:
    """The commands of the live processes in process group `group`."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name, _, rest = stat.partition("(")[2].rpartition(")")
        state, _parent, pgid = rest.split()[:3]
        if int(pgid) == group and state != "Z":
            members.append(name)
    return members
