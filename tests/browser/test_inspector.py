"""The chunk inspector in a real browser: what it draws must be what the API answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from playwright.sync_api import Browser, FilePayload, Page, expect

from benchmarks.live import LiveServer, live_server
from tests.browser.conftest import DESKTOP, PHONE, open_page, screenshot
from tests.conftest import DATA

PARAGRAPHS = (DATA / "docs" / "paris.txt").read_text(encoding="utf-8").split("\n\n")
SCRIPT_PARIS = "\U0001d4ab\U0001d4b6\U0001d4c7\U0001d4be\U0001d4c8"  # mathematical script letters
DECORATIONS = ["🗼 ", "巴黎是法国的首都。", f"{SCRIPT_PARIS} 🥐 ", "🇫🇷 ", "エッフェル塔 😀 "]
# Astral characters (emoji, flags, mathematical letters) take two UTF-16 units but one Python
# str index each, and a UTF-8 BOM precedes the text: offsets must still land exactly.
ASTRAL_DOC = "\ufeff# Paris 🗼 巴黎\n\n" + "\n\n".join(
    f"{DECORATIONS[i % len(DECORATIONS)]}{paragraph.strip()} 🎉"
    for i, paragraph in enumerate(PARAGRAPHS * 2)
)
# Every paragraph once: no two chunks share a text, so no two share a score.
QUERY_DOC = "\n\n".join(
    f"{d}{p.strip()}" for d, p in zip(DECORATIONS * 2, PARAGRAPHS, strict=False)
)
QUERY = "When was the Eiffel Tower built, and why?"


def api_chunks(server: LiveServer, file_id: str, **options: Any) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/v1/chunks", json={"id": file_id, **options}, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def stored_id(server: LiveServer, filename: str) -> str:
    files = httpx.get(f"{server.url}/v1/files", params={"order": "desc"}).json()["data"]
    return next(str(f["id"]) for f in files if f["filename"] == filename)


def upload_with_picker(page: Page, name: str, text: str) -> None:
    payload: FilePayload = {"name": name, "mimeType": "text/markdown", "buffer": text.encode()}
    page.set_input_files("#file-picker", payload)
    expect(page.locator("#doc-title")).to_have_text(name)


def drop_file(page: Page, name: str, text: str) -> None:
    """A real drop event carrying a File, as a drag from the desktop delivers it."""
    page.evaluate(
        """([name, text]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], name, { type: "text/plain" }));
            const zone = document.getElementById("drop-zone");
            for (const type of ["dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true }));
            }
        }""",
        [name, text],
    )
    expect(page.locator("#doc-title")).to_have_text(name)


def wait_for_chunks(page: Page, answer: dict[str, Any]) -> None:
    """Until the page draws the chunks of this API answer (same sizes, same count)."""
    summary = page.locator("#summary")
    for name in ("capacity", "overlap"):
        expect(summary).to_have_attribute(f"data-{name}", str(answer[f"chunk_{name}"]))
    expect(summary).to_have_attribute("data-chunks", str(len(answer["chunks"])))
    expect(page.locator("#document .chunk-tag")).to_have_count(len(answer["chunks"]))


def drawn_chunk_texts(page: Page, count: int) -> list[str]:
    """Each chunk's text as highlighted: the pieces marked with its index, in order."""
    texts: list[str] = page.evaluate(
        """(count) => Array.from({ length: count }, (_, i) =>
            Array.from(document.querySelectorAll(`#document .piece[data-chunks~="${i}"]`))
                 .map((piece) => piece.textContent).join(""))""",
        count,
    )
    return texts


def test_uploaded_document_shows_every_chunk_at_its_exact_extent(
    page: Page, server: LiveServer
) -> None:
    upload_with_picker(page, "astral.md", ASTRAL_DOC)
    expected = api_chunks(server, stored_id(server, "astral.md"))
    wait_for_chunks(page, expected)
    assert drawn_chunk_texts(page, len(expected["chunks"])) == expected["chunks"]
    tags = page.locator("#document .chunk-tag")
    first_tokens = expected["chunk_details"][0]["tokens"]
    expect(tags.first).to_have_text(re.compile(rf"^#0 · {first_tokens} tok"))
    # The whole text is shown, BOM dropped, astral characters intact.
    shown = page.locator("#document").evaluate(
        "(doc) => Array.from(doc.childNodes).filter((n) => !n.classList?.contains('chunk-tag'))"
        ".map((n) => n.textContent).join('')"
    )
    assert shown == ASTRAL_DOC.removeprefix("\ufeff")
    summary = page.locator("#summary")
    largest = max(d["tokens"] for d in expected["chunk_details"])
    expect(summary).to_contain_text(f"{largest} / 512 window")
    expect(summary).to_contain_text(str(sum(d["tokens"] for d in expected["chunk_details"])))
    screenshot(page, "desktop-default")


def test_capacity_and_overlap_rechunk_at_once(page: Page, server: LiveServer) -> None:
    drop_file(page, "paris-dropped.txt", "\n\n".join(PARAGRAPHS * 3))
    file_id = stored_id(server, "paris-dropped.txt")
    default = api_chunks(server, file_id)
    wait_for_chunks(page, default)
    # Typed key by key: stale intermediate answers (capacity 6, 64) must not win.
    page.locator("#capacity").press_sequentially("64")
    smaller = api_chunks(server, file_id, chunk_capacity=64)
    assert len(smaller["chunks"]) > len(default["chunks"])
    wait_for_chunks(page, smaller)
    assert drawn_chunk_texts(page, len(smaller["chunks"])) == smaller["chunks"]

    page.locator("#overlap").fill("24")
    overlapping = api_chunks(server, file_id, chunk_capacity=64, chunk_overlap=24)
    wait_for_chunks(page, overlapping)
    assert drawn_chunk_texts(page, len(overlapping["chunks"])) == overlapping["chunks"]
    expect(page.locator("#document .piece.overlap").first).to_be_visible()
    screenshot(page, "desktop-overlap")


def ranked_first(server: LiveServer, file_id: str, options: dict[str, Any]) -> int:
    """The chunk the API's own vectors put closest to the query, by cosine similarity."""
    chunks = httpx.post(
        f"{server.url}/v1/files/{file_id}/embeddings", json=options, timeout=120
    ).json()["data"]
    query = httpx.post(f"{server.url}/v1/embeddings", json={"input": QUERY}, timeout=60)
    q = np.asarray(query.json()["data"][0]["embedding"])
    vectors = np.asarray([c["embedding"] for c in chunks])
    scores = vectors @ q / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q))
    return int(chunks[int(np.argmax(scores))]["index"])


def test_query_marks_the_chunk_the_vectors_rank_first(page: Page, server: LiveServer) -> None:
    upload_with_picker(page, "query.md", QUERY_DOC)
    page.locator("#capacity").fill("48")
    file_id = stored_id(server, "query.md")
    wait_for_chunks(page, api_chunks(server, file_id, chunk_capacity=48))
    page.locator("#query").fill(QUERY)
    page.locator("#query").press("Enter")
    expect(page.locator("#status")).to_be_hidden()  # else it names what went wrong
    best = page.locator("#document .chunk-tag.best")
    expect(best).to_have_count(1)
    expected = ranked_first(server, file_id, {"chunk_capacity": 48})
    expect(best).to_have_attribute("data-chunk", str(expected))
    expect(best).to_be_in_viewport()
    expect(best).to_be_focused()
    expect(page.locator("#hits li")).to_have_count(5)
    expect(page.locator("#hits li").first).to_contain_text(f"#{expected} · 0.")
    expect(page.locator(f'#document .piece.best[data-chunks~="{expected}"]').first).to_be_visible()
    screenshot(page, "desktop-query")


def test_query_right_after_a_size_change_ranks_the_new_chunks(
    page: Page, server: LiveServer
) -> None:
    """Enter pressed while the re-chunk of a typed size is still debounced: the ranking must
    wait for those chunks, not be cleared (aborted, its message left up) when they arrive."""
    upload_with_picker(page, "query-race.md", QUERY_DOC)
    file_id = stored_id(server, "query-race.md")
    wait_for_chunks(page, api_chunks(server, file_id))
    page.locator("#capacity").fill("48")
    page.locator("#query").fill(QUERY)
    page.locator("#query").press("Enter")  # well within the 250 ms debounce
    wait_for_chunks(page, api_chunks(server, file_id, chunk_capacity=48))
    best = page.locator("#document .chunk-tag.best")
    expect(best).to_have_attribute(
        "data-chunk", str(ranked_first(server, file_id, {"chunk_capacity": 48}))
    )
    expect(page.locator("#hits li")).to_have_count(5)
    expect(page.locator("#status")).to_be_hidden()
    # A later, identical re-chunk request (the debounce firing late) leaves the ranking be.
    page.locator("#capacity").dispatch_event("input")
    page.wait_for_timeout(1000)
    expect(best).to_have_count(1)


def test_static_chunking_strategy_is_sent_and_drawn(page: Page, server: LiveServer) -> None:
    upload_with_picker(page, "strategy.md", ASTRAL_DOC)
    file_id = stored_id(server, "strategy.md")
    wait_for_chunks(page, api_chunks(server, file_id))
    page.locator("#capacity").fill("100")
    page.locator("#overlap").fill("20")
    # (A debounced request for the typed sizes may go out too: wait for the strategy's.)
    with page.expect_request(lambda r: "chunking_strategy" in (r.post_data or "")) as sent:
        page.locator("#strategy").select_option("static")
    sizes = {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20}
    strategy = {"type": "static", "static": sizes}
    body = sent.value.post_data_json
    assert isinstance(body, dict)
    assert body["chunking_strategy"] == strategy
    assert "chunk_capacity" not in body
    answer = api_chunks(server, file_id, model="all-MiniLM-L6-v2", chunking_strategy=strategy)
    assert (answer["chunk_capacity"], answer["chunk_overlap"]) == (100, 20)
    wait_for_chunks(page, answer)
    assert drawn_chunk_texts(page, len(answer["chunks"])) == answer["chunks"]
    expect(page.locator("#status")).to_be_hidden()
    expect(page.locator("#capacity")).to_be_enabled()
    page.locator("#strategy").select_option("auto")
    expect(page.locator("#capacity")).to_be_disabled()


def test_delete_removes_the_file_from_list_and_store(page: Page, server: LiveServer) -> None:
    upload_with_picker(page, "doomed.txt", "Short-lived text.")
    file_id = stored_id(server, "doomed.txt")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete doomed.txt").click()
    expect(page.locator("#status")).to_have_text("Deleted doomed.txt.")
    expect(page.locator("#files")).not_to_contain_text("doomed.txt")
    expect(page.locator("#doc-title")).to_have_text("No file chosen")
    assert httpx.get(f"{server.url}/v1/files/{file_id}").status_code == 404


def test_files_list_pages(browser: Browser, tmp_path: Path, default_gguf: Path) -> None:
    with live_server(tmp_path / "storage") as server:
        for n in range(12):
            httpx.post(f"{server.url}/v1/files", files={"file": (f"f{n:02}.txt", b"x")})
        page = open_page(browser, server.url, DESKTOP)
        names = page.locator("#files .file-name")
        expect(names).to_have_count(10)
        expect(names.first).to_have_text("f11.txt")
        page.locator("#files-next").click()
        expect(names).to_have_text(["f01.txt", "f00.txt"])
        expect(page.locator("#files-next")).to_be_disabled()
        page.locator("#files-prev").click()
        expect(names.first).to_have_text("f11.txt")
        page.locator("#files-order").select_option("asc")
        expect(names.first).to_have_text("f00.txt")
        page.context.close()


def test_keyboard_reaches_the_drop_zone_and_opens_the_picker(page: Page) -> None:
    page.locator("#api-key").focus()
    for _ in range(3):  # key field -> Use key -> Forget -> drop zone
        page.keyboard.press("Tab")
    zone = page.get_by_role("button", name=re.compile("Drop a file here"))
    expect(zone).to_be_focused()
    # Headless Chromium reports the dialog of a mouse click but not always of a key press:
    # record that Enter clicks the file input (which opens the dialog) with user activation.
    page.evaluate(
        """() => document.getElementById("file-picker").addEventListener("click", () => {
            window.pickerOpenedByUser = navigator.userActivation.isActive;
        })"""
    )
    page.keyboard.press("Enter")
    page.wait_for_function("window.pickerOpenedByUser === true")
    outline = page.locator("#drop-zone").evaluate("(el) => getComputedStyle(el).outlineStyle")
    assert outline == "solid"


def test_narrow_screen_has_no_horizontal_overflow(browser: Browser, server: LiveServer) -> None:
    page = open_page(browser, server.url, PHONE)
    upload_with_picker(page, "phone.md", ASTRAL_DOC)
    expect(page.locator("#document .chunk-tag").first).to_be_visible()
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] == PHONE["width"]
    screenshot(page, "phone-top")
    page.locator("#doc-title").evaluate("(title) => title.scrollIntoView()")
    screenshot(page, "phone-document")
    page.context.close()


def test_api_key_flow_shows_the_401_until_a_key_is_entered(
    browser: Browser, tmp_path: Path, default_gguf: Path
) -> None:
    env = {"RAGPREP_API_KEYS": "s3cret"}
    with live_server(tmp_path / "storage", env=env) as server:
        missing = httpx.get(f"{server.url}/v1/models").json()["error"]["message"]
        page = open_page(browser, server.url, DESKTOP)
        status = page.locator("#status")
        expect(status).to_have_text(missing)
        screenshot(page, "desktop-401")
        page.locator("#api-key").fill("wrong")
        page.locator("#api-key").press("Enter")
        expect(status).to_have_text("Incorrect API key provided.")
        page.locator("#api-key").fill("s3cret")
        page.get_by_role("button", name="Use key").click()
        expect(status).to_be_hidden()
        expect(page.locator("#files")).to_have_text("No files stored yet.")
        assert page.evaluate("sessionStorage.getItem('ragprep.apiKey')") == "s3cret"
        upload_with_picker(page, "keyed.md", ASTRAL_DOC)  # every call carries the key
        expect(page.locator("#document .chunk-tag").first).to_be_visible()
        page.reload()  # the key survives a reload of the tab
        expect(page.locator("#files .file-name")).to_have_text(["keyed.md"])
        page.context.close()
