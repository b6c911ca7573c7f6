"""Documents that fail, through the API: the text limit is a 413 with the numbers and stores
nothing; a failed document is remembered by its bytes; extraction workers run side by side."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import update

from app.config import Settings
from app.db.tables import FailedDocumentRow
from app.services.failed_documents import LOAD_DEPENDENT_NS
from tests.api.test_chunks import DOCS, count_rows, upload_doc
from tests.api.test_documents import app_and_client
from tests.api.test_files import assert_error
from tests.conftest import AppRunner

CORRUPT_PDF = b"%PDF-1.7\n" + b"not a real PDF body " * 200


async def test_text_over_the_limit_is_413_with_the_numbers(
    settings: Settings, run_app: AppRunner
) -> None:
    text = (DOCS / "gpl-3.txt").read_bytes()
    async with run_app(settings.model_copy(update={"max_extracted_chars": 10_000})) as client:
        file_id = await upload_doc(client, "gpl-3.txt", text)
        for route, param in ((f"/v1/files/{file_id}/embeddings", "file_id"), ("/v1/chunks", "id")):
            response = await client.post(route, json={} if param == "file_id" else {"id": file_id})
            assert_error(response, 413, param=param)
            error = response.json()["error"]
            assert error["code"] == "document_too_large"
            assert "more than 10,000 characters" in error["message"]
            assert f"stopped at {len(text.decode()):,}" in error["message"]
    assert count_rows(settings, "documents") == count_rows(settings, "chunk_sets") == 0


async def test_a_page_whose_markup_inflates_is_413_before_conversion(settings: Settings) -> None:
    # 504 kB of nested quotes: 60 M characters of Markdown, 3.4 GB in the worker, then a 422.
    page = ("<blockquote>" * 300 + "<p>" + "x<br>" * 100_000 + "</p>").encode()
    async with app_and_client(settings) as (_, client):
        file_id = await upload_doc(client, "quotes.html", page)
        started = time.perf_counter()
        response = await client.post("/v1/chunks", json={"id": file_id})
        assert time.perf_counter() - started < 20
        assert_error(response, 413, param="id")
        error = response.json()["error"]
        assert error["code"] == "document_too_large"
        assert f"more than {settings.extracted_chars_limit:,} characters" in error["message"]
        assert "its markup alone can add" in error["message"]
    assert count_rows(settings, "documents") == count_rows(settings, "chunk_sets") == 0
    assert count_rows(settings, "failed_documents") == 1


def test_the_default_limit_follows_the_upload_limit(settings: Settings) -> None:
    assert settings.extracted_chars_limit == settings.max_upload_bytes // 16
    smaller = settings.model_copy(update={"max_upload_bytes": 1 << 20})
    assert smaller.extracted_chars_limit == 65536
    assert smaller.model_copy(update={"max_extracted_chars": 7}).extracted_chars_limit == 7


async def test_a_failed_document_is_remembered_by_its_bytes(settings: Settings) -> None:
    async with app_and_client(settings) as (services, client):
        first = await upload_doc(client, "broken.pdf", CORRUPT_PDF)
        refused = await client.post("/v1/chunks", json={"id": first})
        assert_error(refused, 422, param="id")
        assert refused.json()["error"]["code"] == "corrupt_document"
        assert services.documents.extractions == 1
        again = await upload_doc(client, "again.pdf", CORRUPT_PDF)
        started = time.perf_counter()
        repeated = await client.post(f"/v1/files/{again}/embeddings", json={})
        assert time.perf_counter() - started < 1.0
        assert_error(repeated, 422, param="file_id")
        assert repeated.json()["error"]["code"] == "corrupt_document"
        assert "'again.pdf'" in repeated.json()["error"]["message"]
        assert "broken.pdf" not in repeated.json()["error"]["message"]
        assert services.documents.extractions == 1  # answered from memory, not parsed again


async def test_a_failed_document_is_remembered_after_a_restart(settings: Settings) -> None:
    # The memory lived in one process: another replica, or the same server restarted, spent
    # another worker-minute on the same hostile bytes. It is in the database now.
    text = (DOCS / "gpl-3.txt").read_bytes()
    strict = settings.model_copy(update={"max_extracted_chars": 10_000})
    async with app_and_client(strict) as (services, client):
        first = await upload_doc(client, "first.txt", text)
        assert_error(await client.post("/v1/chunks", json={"id": first}), 413, param="id")
        assert services.documents.extractions == 1
    assert count_rows(settings, "failed_documents") == 1
    async with app_and_client(strict) as (services, client):  # a restart (or another replica)
        again = await upload_doc(client, "again.txt", text)
        started = time.perf_counter()
        repeated = await client.post(f"/v1/files/{again}/embeddings", json={})
        assert time.perf_counter() - started < 1.0
        assert_error(repeated, 413, param="file_id")
        error = repeated.json()["error"]
        assert error["code"] == "document_too_large"
        assert "'again.txt'" in error["message"] and "first.txt" not in error["message"]
        assert "more than 10,000 characters" in error["message"]
        assert services.documents.extractions == 0  # answered from the table, not parsed
    async with app_and_client(settings) as (services, client):  # a raised limit tries again
        file_id = await upload_doc(client, "again.txt", text)
        answer = await client.post("/v1/chunks", json={"id": file_id})
        assert answer.status_code == 200, answer.text
        assert services.documents.extractions == 1


async def test_remembered_failures_are_bounded(settings: Settings) -> None:
    bounded = settings.model_copy(update={"failed_documents": 2})
    async with app_and_client(bounded) as (_, client):
        for n in range(4):
            broken = CORRUPT_PDF + b"%% variant %d" % n  # other bytes, the same failure
            file_id = await upload_doc(client, f"broken-{n}.pdf", broken)
            assert_error(await client.post("/v1/chunks", json={"id": file_id}), 422)
    assert count_rows(settings, "failed_documents") == 2


async def test_a_remembered_timeout_is_tried_again_after_an_hour(settings: Settings) -> None:
    # A timeout depends on how busy the machine was: kept in the database, it would refuse a
    # document that timed out once under load for good.
    quick = settings.model_copy(update={"extract_timeout": 0.001})
    page = b"<p>A paragraph of words.</p>" * 20_000
    async with app_and_client(quick) as (services, client):
        file_id = await upload_doc(client, "page.html", page)
        for _ in range(2):
            response = await client.post("/v1/chunks", json={"id": file_id})
            assert_error(response, 422, param="id")
            assert response.json()["error"]["code"] == "extraction_timeout"
        assert services.documents.extractions == 1  # the second answered from the table
        async with services.session_factory() as session:
            an_hour_ago = FailedDocumentRow.created_ns - LOAD_DEPENDENT_NS - 10**9
            await session.execute(update(FailedDocumentRow).values(created_ns=an_hour_ago))
            await session.commit()
        response = await client.post("/v1/chunks", json={"id": file_id})
        assert response.json()["error"]["code"] == "extraction_timeout"
        assert services.documents.extractions == 2  # tried again, and remembered again
    assert count_rows(settings, "failed_documents") == 1


async def test_one_slow_document_does_not_hold_the_others(settings: Settings) -> None:
    # One worker served every document in turn: a small HTML file waited 50 s behind a
    # hostile e-book. 27 MB of navigation take the HTML converter seconds (to drop them all).
    slow_html = b"<nav>" + b"<p>word</p>" * 2_500_000 + b"</nav><p>The page.</p>"
    async with app_and_client(settings) as (_, client):
        slow = await upload_doc(client, "slow.html", slow_html)
        small = await upload_doc(client, "small.html", b"<h1>Small</h1><p>A small page.</p>")
        slow_task = asyncio.create_task(client.post("/v1/chunks", json={"id": slow}))
        await asyncio.sleep(0.5)  # the slow one is in a worker by now
        answer = await client.post("/v1/chunks", json={"id": small})
        assert answer.status_code == 200, answer.text
        assert not slow_task.done(), "the small document waited for the slow one"
        assert (await slow_task).status_code == 200
