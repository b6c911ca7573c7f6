"""OCR through the real stack: a PDF with a scanned page and an image file become chunks with
their pages, and the API says which pages OCR read; RAGPREP_OCR=false refuses them as before."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.api.test_chunks import chunks_of, upload_doc
from tests.api.test_files import assert_error
from tests.conftest import AppRunner
from tests.extract import documents


@dataclass(frozen=True)
class Scans:
    original: Path  # 3 pages of the Chromium-printed GPL, with their text layer
    mixed: bytes  # page 2 scanned (an image, no text), pages 1 and 3 as they were
    scan: bytes  # all 3 scanned
    png: bytes  # page 2 as a PNG


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Scans:
    missing = [
        *documents.missing_tools(),
        *(["tesseract"] if not shutil.which("tesseract") else []),
    ]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (listed in .ci/apt-packages.txt)")
    root = tmp_path_factory.mktemp("ocr")
    documents.pandoc_file(
        documents.gpl_markdown(), root / "gpl.html", "-s", "--metadata", "title=GPL"
    )
    documents.chromium_pdf(root / "gpl.html", root / "gpl.pdf")
    original = root / "original.pdf"
    subprocess.run(
        ["qpdf", "--empty", "--pages", str(root / "gpl.pdf"), "2-4", "--", str(original)],
        check=True,
    )
    scan = documents.scanned_pdf(original, root / "scan.pdf")
    command = ["pdftoppm", "-r", "300", "-gray", "-png", "-f", "2", "-l", "2", "-singlefile"]
    subprocess.run([*command, str(original), str(root / "page")], check=True)
    return Scans(
        original=original,
        mixed=documents.mixed_pdf(original, root / "scan.pdf", root / "mixed.pdf", "2"),
        scan=scan,
        png=(root / "page.png").read_bytes(),
    )


async def test_a_scanned_page_is_chunked_with_its_page_and_reported(
    client: httpx.AsyncClient, scans: Scans
) -> None:
    file_id = await upload_doc(client, "mixed.pdf", scans.mixed)
    text = await client.get(f"/v1/files/{file_id}/text")
    assert text.status_code == 200
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.headers["x-ocr-pages"] == "2"
    assert text.headers["x-page-count"] == "3"
    assert documents.coverage(documents.pdftotext(scans.original), text.text) >= 0.95
    result = await chunks_of(client, id=file_id, chunk_capacity=128)
    page_two = documents.pdftotext(scans.original, 2, 2)
    read = ""
    for chunk, detail in zip(result["chunks"], result["chunk_details"], strict=True):
        first, last = detail["pages"]
        assert detail["ocr_pages"] == ([2] if first <= 2 <= last else []), detail
        assert text.text[detail["start"] : detail["end"]] == chunk
        if detail["ocr_pages"]:
            read += chunk + "\n"
    assert documents.coverage(page_two, read) >= 0.95


async def test_an_image_is_a_one_page_document(client: httpx.AsyncClient, scans: Scans) -> None:
    file_id = await upload_doc(client, "page.png", scans.png)
    text = await client.get(f"/v1/files/{file_id}/text")
    assert (text.headers["x-ocr-pages"], text.headers["x-page-count"]) == ("1", "1")
    assert documents.coverage(documents.pdftotext(scans.original, 2, 2), text.text) >= 0.95
    result = await chunks_of(client, id=file_id, chunk_capacity=128)
    assert len(result["chunks"]) > 1
    assert all(d["pages"] == [1, 1] and d["ocr_pages"] == [1] for d in result["chunk_details"])
    embedded = await client.post(f"/v1/files/{file_id}/embeddings", json={"chunk_capacity": 128})
    assert embedded.status_code == 200
    assert all(item["ocr_pages"] == [1] for item in embedded.json()["data"])


async def test_text_files_carry_no_page_headers(client: httpx.AsyncClient) -> None:
    file_id = await upload_doc(client, "notes.txt", b"Plain notes, no pages.\n")
    text = await client.get(f"/v1/files/{file_id}/text")
    assert "x-ocr-pages" not in text.headers and "x-page-count" not in text.headers
    detail = (await chunks_of(client, id=file_id))["chunk_details"][0]
    assert detail["pages"] is None and detail["ocr_pages"] == []


async def test_ocr_off_refuses_scans_and_images_even_once_read(
    settings: Settings, run_app: AppRunner, scans: Scans
) -> None:
    async with run_app(settings) as client:  # OCR on: the scan is read and its document stored
        scan_id = await upload_doc(client, "scan.pdf", scans.scan)
        png_id = await upload_doc(client, "page.png", scans.png)
        assert (await client.get(f"/v1/files/{scan_id}/text")).headers["x-ocr-pages"] == "1,2,3"
        first = (await chunks_of(client, id=scan_id))["chunk_details"][0]
        assert first["ocr_pages"] == list(range(first["pages"][0], first["pages"][1] + 1))
    off = settings.model_copy(update={"ocr": False})
    async with run_app(off) as client:  # what was read by OCR is not served from storage
        refused = [
            await client.get(f"/v1/files/{scan_id}/text"),
            await client.post("/v1/chunks", json={"id": scan_id}),
            await client.post(f"/v1/files/{scan_id}/embeddings", json={}),
        ]
        for response, param in zip(refused, ("file_id", "id", "file_id"), strict=True):
            assert_error(response, 422, param=param)
            assert response.json()["error"]["code"] == "no_text_layer"
            assert "RAGPREP_OCR" in response.json()["error"]["message"]
        assert_error(await client.post("/v1/chunks", json={"id": png_id}), 415, param="id")
