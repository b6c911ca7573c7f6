"""The inspector's store view in a real browser: pick a vector store, search across its
files, and see the hits the search API answers, with their files, pages, headings and scores."""

from __future__ import annotations

import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from benchmarks.live import LiveServer
from tests.browser.conftest import screenshot
from tests.browser.test_inspector_documents import printed_pdf  # noqa: F401 (a fixture)
from tests.conftest import DATA

QUERY = "Which river flows through Paris?"


def indexed_store(server: LiveServer, name: str, files: dict[str, bytes]) -> str:
    ids = []
    for filename, data in files.items():
        upload = httpx.post(
            f"{server.url}/v1/files",
            files={"file": (filename, data)},
            data={"purpose": "assistants"},
            timeout=60,
        )
        assert upload.status_code == 200, upload.text
        ids.append(upload.json()["id"])
    created = httpx.post(f"{server.url}/v1/vector_stores", json={"name": name, "file_ids": ids})
    assert created.status_code == 200, created.text
    store: dict[str, Any] = created.json()
    deadline = time.monotonic() + 180
    while store["file_counts"]["in_progress"]:
        assert time.monotonic() < deadline, store
        time.sleep(0.2)
        store = httpx.get(f"{server.url}/v1/vector_stores/{store['id']}").json()
    assert store["file_counts"]["completed"] == len(files), store
    return str(store["id"])


def test_store_view_shows_the_hits_the_search_api_answers(
    page: Page,
    server: LiveServer,
    printed_pdf: bytes,  # noqa: F811
) -> None:
    docs = DATA / "docs"
    store_id = indexed_store(
        server,
        "inspected",
        {
            "paris.txt": (docs / "paris.txt").read_bytes(),
            "fastapi-readme.md": (docs / "fastapi-readme.md").read_bytes(),
            "parts.pdf": printed_pdf,
        },
    )
    page.click("#store-reload")  # the store was made after the page loaded
    expect(page.locator(f"#store option[value='{store_id}']")).to_have_text("inspected (3 files)")
    page.select_option("#store", store_id)
    page.fill("#store-query", QUERY)
    with page.expect_response(f"**/v1/vector_stores/{store_id}/search") as searched:
        page.click("#store-search-button")
    assert searched.value.request.post_data_json == {"query": QUERY, "max_num_results": 10}
    answer = searched.value.json()["data"]
    cards = page.locator("#store-hits .store-hit")
    expect(cards).to_have_count(len(answer))
    assert answer[0]["filename"] == "paris.txt"
    filenames = {hit["filename"] for hit in answer}
    assert {"fastapi-readme.md", "parts.pdf"} & filenames, filenames  # hits across files
    for card, hit in zip(cards.all(), answer, strict=True):
        expect(card.locator(".store-hit-file")).to_have_text(hit["filename"])
        expect(card.locator("[data-term=score]")).to_have_text(f"score {hit['score']:.3f}")
        text = hit["content"][0]["text"]
        assert card.locator(".store-hit-text").get_attribute("title") == text
        pages = card.locator("[data-term=pages]")
        if hit["pages"]:
            first, last = hit["pages"]
            shown = f"{first}" if first == last else f"{first}\u2013{last}"
            expect(pages).to_have_text(f"pages {shown}")
        else:
            expect(pages).to_have_count(0)
        headings = card.locator("[data-term=in]")
        if hit["headings"]:
            expect(headings).to_have_text("in " + " \u203a ".join(hit["headings"]))
        else:
            expect(headings).to_have_count(0)
    assert any(hit["pages"] for hit in answer) or any(hit["headings"] for hit in answer)
    screenshot(page, "desktop-store-search")


def test_store_view_reports_an_unknown_store_as_the_api_words_it(
    page: Page, server: LiveServer
) -> None:
    store_id = indexed_store(server, "short-lived", {"paris.txt": b"Paris is on the Seine."})
    page.click("#store-reload")
    page.select_option("#store", store_id)
    assert httpx.delete(f"{server.url}/v1/vector_stores/{store_id}").status_code == 200
    page.fill("#store-query", QUERY)
    page.click("#store-search-button")
    expect(page.locator("#status")).to_contain_text(store_id)
    expect(page.locator("#store-hits .store-hit")).to_have_count(0)
