"""Documents through the real stack: extracted once, chunked with pages and section paths,
served as text, and one rule for documents with nothing to embed."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from app.services.container import Services
from tests.api.test_chunks import chunks_of, upload_doc
from tests.api.test_files import assert_error
from tests.conftest import AppRunner
from tests.extract import documents

DEFINITIONS = ["Gnu General Public License", "Terms and conditions", "0. Definitions"]
ATX = re.compile(r"^(#{1,6}) (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Rendered:
    html: bytes
    pdf: bytes
    pdf_path: Path
    docx: bytes


@pytest.fixture(scope="module")
def markdown() -> str:
    return documents.gpl_markdown()


@pytest.fixture(scope="module")
def rendered(markdown: str, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """HTML by pandoc, PDF (with an outline) by headless Chromium, as tests/extract makes them."""
    missing = documents.missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (listed in .ci/apt-packages.txt)")
    root = tmp_path_factory.mktemp("documents")
    html = documents.pandoc_file(markdown, root / "gpl.html", "-s", "--metadata", "title=GPL")
    pdf = documents.chromium_pdf(root / "gpl.html", root / "gpl.pdf")
    docx = documents.pandoc_file(markdown, root / "gpl.docx")
    return Rendered(html=html, pdf=pdf, pdf_path=root / "gpl.pdf", docx=docx)


def count_rows(settings: Settings, table: str) -> int:
    with sqlite3.connect(settings.storage_dir / "ragprep.db") as db:
        (count,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(count)


def section_path(text: str, start: int, end: int) -> list[str]:
    """The Markdown section path at `start`, from the raw '#' lines (an independent reading)."""
    stack: list[tuple[int, str]] = []
    first: list[str] = []
    for match in ATX.finditer(text):
        level, title = len(match[1]), match[2].strip()
        if match.start() > start:
            if not stack and match.start() < end:
                first = [title]
            break
        stack = [(lv, t) for lv, t in stack if lv < level] + [(level, title)]
    return [title for _, title in stack] or first


def flat(text: str) -> str:
    return " ".join(text.split())


def chunk_with(result: dict[str, Any], phrase: str) -> dict[str, Any]:
    pairs = zip(result["chunks"], result["chunk_details"], strict=True)
    return next(detail for chunk, detail in pairs if phrase in flat(chunk))


async def test_markdown_chunks_carry_their_section_paths(
    client: httpx.AsyncClient, markdown: str
) -> None:
    file_id = await upload_doc(client, "gpl.md", markdown.encode())
    result = await chunks_of(client, id=file_id, chunk_capacity=128)
    text = (await client.get(f"/v1/files/{file_id}/text")).text
    assert text == markdown
    for chunk, detail in zip(result["chunks"], result["chunk_details"], strict=True):
        assert text[detail["start"] : detail["end"]] == chunk
        assert detail["pages"] is None
        assert detail["headings"] == section_path(text, detail["start"], detail["end"])
    assert chunk_with(result, 'To "propagate" a work means')["headings"] == DEFINITIONS
    assert len({tuple(d["headings"]) for d in result["chunk_details"]}) > 15


async def test_html_chunks_carry_headings_and_embed(
    client: httpx.AsyncClient, rendered: Rendered
) -> None:
    file_id = await upload_doc(client, "gpl.html", rendered.html)
    result = await chunks_of(client, id=file_id, chunk_capacity=128)
    text = (await client.get(f"/v1/files/{file_id}/text")).text  # HTML became Markdown
    for detail in result["chunk_details"]:
        assert detail["pages"] is None
        assert detail["headings"] == section_path(text, detail["start"], detail["end"])
    assert any(d["headings"] == DEFINITIONS for d in result["chunk_details"])
    assert "<" not in text and "GPL" not in text.split("\n")[0]
    embedded = await client.post(f"/v1/files/{file_id}/embeddings", json={"chunk_capacity": 128})
    assert embedded.status_code == 200, embedded.text
    items = embedded.json()["data"]
    assert [(i["pages"], i["headings"]) for i in items] == [
        (d["pages"], d["headings"]) for d in result["chunk_details"]
    ]
    assert all(len(item["embedding"]) == 384 for item in items)


async def test_pdf_chunks_carry_the_pages_poppler_finds_them_on(
    client: httpx.AsyncClient, rendered: Rendered
) -> None:
    file_id = await upload_doc(client, "gpl.pdf", rendered.pdf)
    result = await chunks_of(client, id=file_id, chunk_capacity=200)
    text = (await client.get(f"/v1/files/{file_id}/text")).text
    pages = documents.pdftotext(rendered.pdf_path).split("\f")
    page_words = [documents.words(page) for page in pages]
    previous = (1, 1)
    for chunk, detail in zip(result["chunks"], result["chunk_details"], strict=True):
        first, last = detail["pages"]
        assert previous <= (first, last) and first <= last < len(pages)
        previous = (first, last)
        words = documents.words(chunk)
        assert _contains(page_words[first - 1], words[:4]), (detail, chunk[:80])
        assert _contains(page_words[last - 1], words[-4:]), (detail, chunk[-80:])
        # The innermost section starts before the chunk ends, in the extracted text.
        title = detail["headings"][-1]
        assert flat(title) in flat(text[: detail["end"]])
    assert any(d["headings"] == DEFINITIONS for d in result["chunk_details"])
    assert any(d["pages"][0] < d["pages"][1] for d in result["chunk_details"])  # spans pages
    stream = await client.post(
        f"/v1/files/{file_id}/embeddings",
        json={"chunk_capacity": 200},
        headers={"Accept": "application/x-ndjson"},
    )
    items = [json.loads(line) for line in stream.text.splitlines()]
    assert [(i["pages"], i["headings"]) for i in items] == [
        (d["pages"], d["headings"]) for d in result["chunk_details"]
    ]


def _contains(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack)))


async def test_a_document_is_extracted_once_and_shared_by_identical_files(
    client: httpx.AsyncClient, settings: Settings, markdown: str
) -> None:
    file_id = await upload_doc(client, "gpl.md", markdown.encode())
    first = await chunks_of(client, id=file_id, chunk_capacity=200)
    # Spoil the stored bytes: chunking at another size and the text must not read them again.
    (settings.blobs_dir / file_id).write_bytes(b"\x89PNG\r\n\x1a\n\x00 not the document")
    other = await chunks_of(client, id=file_id, chunk_capacity=64)
    assert len(other["chunks"]) > len(first["chunks"])
    assert (await client.get(f"/v1/files/{file_id}/text")).text == markdown
    assert count_rows(settings, "documents") == 1
    twin = await upload_doc(client, "copy.md", markdown.encode())
    await chunks_of(client, id=twin, chunk_capacity=200)
    assert count_rows(settings, "documents") == 1  # same content, same document
    as_text = await upload_doc(client, "gpl.txt", markdown.encode())  # same bytes, not Markdown
    plain = await chunks_of(client, id=as_text, chunk_capacity=200)
    assert all(d["headings"] == [] for d in plain["chunk_details"])
    assert count_rows(settings, "documents") == 2
    await client.delete(f"/v1/files/{as_text}")
    await client.delete(f"/v1/files/{file_id}")
    assert count_rows(settings, "documents") == 2  # the content is still stored (the twin)
    await client.delete(f"/v1/files/{twin}")
    assert count_rows(settings, "documents") == 0


async def test_text_route(client: httpx.AsyncClient) -> None:
    source = "# Grüße\n\nAus Köln 😀, e\u0301tude.\n\n## Zweiter Teil\n\n世界 " * 40
    file_id = await upload_doc(client, "greetings.md", source.encode())
    response = await client.get(f"/v1/files/{file_id}/text")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == source
    result = await chunks_of(client, id=file_id, chunk_capacity=32)
    for chunk, detail in zip(result["chunks"], result["chunk_details"], strict=True):
        assert response.text[detail["start"] : detail["end"]] == chunk  # code point offsets
        assert detail["headings"][0] == "Grüße"
    assert_error(await client.get("/v1/files/file_nope/text"), 404, param="file_id")
    gif = await upload_doc(client, "a.gif", b"GIF89a" + bytes(range(256)) * 4)
    assert_error(await client.get(f"/v1/files/{gif}/text"), 415, param="file_id")
    assert_error(await client.post("/v1/chunks", json={"id": gif}), 415, param="id")


BLANK_HTML = "<html><head><title>T</title></head><body><nav>Home</nav><img src=a.png></body></html>"


@pytest.mark.parametrize(
    ("name", "blank"),
    [
        ("blank.txt", " \n\t "),
        ("blank.txt", "\u200b\u200c\u200d\ufeff\n"),
        ("blank.txt", "\x01\x02\x7f \u00ad"),
        ("blank.md", "\u2028\u3000\n"),
        ("blank.html", BLANK_HTML),
        ("blank.html", "<html><body><p>\u200b</p></body></html>"),
    ],
    ids=["whitespace", "zero-width", "control", "separators", "markup", "html-zero-width"],
)
async def test_a_document_without_text_is_one_file_level_error_on_both_routes(
    client: httpx.AsyncClient, settings: Settings, name: str, blank: str
) -> None:
    file_id = await upload_doc(client, name, blank.encode())
    chunks = await client.post("/v1/chunks", json={"id": file_id})
    assert_error(chunks, 422, param="id")
    embedded = await client.post(f"/v1/files/{file_id}/embeddings", json={})
    assert_error(embedded, 422, param="file_id")
    for response in (chunks, embedded):
        error = response.json()["error"]
        assert error["code"] == "empty_document" and "no text" in error["message"]
        assert name in error["message"]
    assert count_rows(settings, "chunk_sets") == 0


async def test_extraction_limits_come_from_the_settings(
    settings: Settings, run_app: AppRunner, rendered: Rendered
) -> None:
    # One limit at a time: with both set, a loaded machine can spend the 1 ms before the byte
    # cap is reached, and the DOCX then times out instead (seen in a full run).
    hasty = settings.model_copy(update={"extract_timeout": 0.001})
    async with run_app(hasty) as client:
        pdf = await upload_doc(client, "gpl.pdf", rendered.pdf)
        slow = await client.post("/v1/chunks", json={"id": pdf})
        assert_error(slow, 422, param="id")
        assert slow.json()["error"]["code"] == "extraction_timeout"
    capped = settings.model_copy(update={"extract_max_unpacked_bytes": 4096})
    async with run_app(capped) as client:
        docx = await upload_doc(client, "gpl.docx", rendered.docx)
        large = await client.post(f"/v1/files/{docx}/embeddings", json={})
        assert_error(large, 413, param="file_id")
        assert large.json()["error"]["code"] == "document_too_large"
        assert_error(await client.get(f"/v1/files/{docx}/text"), 413, param="file_id")
    assert count_rows(settings, "documents") == count_rows(settings, "chunk_sets") == 0
    async with run_app(settings) as client:  # the defaults take both
        assert (await chunks_of(client, id=pdf))["chunks"]
        assert (await chunks_of(client, id=docx))["chunks"]


@asynccontextmanager
async def app_and_client(settings: Settings) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ragprep.test") as client:
            yield app.state.services, client


async def test_identical_concurrent_requests_extract_and_chunk_once(
    settings: Settings, markdown: str
) -> None:
    async with app_and_client(settings) as (services, client):
        file_id = await upload_doc(client, "gpl.md", markdown.encode())
        same = [
            client.post("/v1/chunks", json={"id": file_id, "chunk_capacity": 100}) for _ in "ab"
        ]
        same += [
            client.post(f"/v1/files/{file_id}/embeddings", json={"chunk_capacity": 100})
            for _ in range(2)
        ]
        responses = await asyncio.gather(*same)
        assert [r.status_code for r in responses] == [200] * 4
        assert len({json.dumps(r.json()["chunks"]) for r in responses[:2]}) == 1
        assert count_rows(settings, "chunk_sets") == 1
        assert services.documents.extractions == 1
        # Other sizes at once: two chunk sets, still one extraction of the new file.
        twin = await upload_doc(client, "other.md", (markdown + "\nMore.\n").encode())
        sizes = [
            client.post("/v1/chunks", json={"id": twin, "chunk_capacity": c}) for c in (50, 80)
        ]
        assert [r.status_code for r in await asyncio.gather(*sizes)] == [200, 200]
        assert count_rows(settings, "chunk_sets") == 3
        assert services.documents.extractions == 2
