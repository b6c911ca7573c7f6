"""The inspector on real documents: extracted text, page numbers and heading paths as the API
answers them. (Apart from test_inspector.py to keep files small; same fixtures and helpers.)"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import FilePayload, Page, expect

from benchmarks.live import LiveServer
from tests.browser.conftest import screenshot
from tests.browser.test_inspector import (
    PARAGRAPHS,
    api_chunks,
    drawn_chunk_texts,
    stored_id,
    wait_for_chunks,
)
from tests.extract import documents

CAPACITY = 64  # small enough that each document makes chunks under several headings
NAV_TEXT = "Navigation-only link"
SCRIPT_TEXT = "script-only-words"
HTML_DOC = f"""<!doctype html><html><head><meta charset="utf-8"><title>Paris guide</title>
<script>window.hidden = "{SCRIPT_TEXT}";</script></head><body>
<nav><a href="/">{NAV_TEXT}</a> <a href="/about">About us</a></nav>
<main><h1>Paris</h1><p>{PARAGRAPHS[0]}</p>
<h2>History</h2><p>{PARAGRAPHS[1]}</p><p>{PARAGRAPHS[2]}</p>
<h2>Landmarks</h2><p>{PARAGRAPHS[3]}</p><p>{PARAGRAPHS[4]}</p></main>
<script>document.body.dataset.note = "{SCRIPT_TEXT}";</script></body></html>"""
MARKDOWN_DOC = f"""# Paris

{PARAGRAPHS[0]}

## History

{PARAGRAPHS[1]}

### The Tower

{PARAGRAPHS[2]}

## Landmarks

{PARAGRAPHS[3]}

### Museums

{PARAGRAPHS[4]}
"""
# Large type: the text flows over several printed pages, paragraphs across page breaks.
PDF_HTML = (
    "<!doctype html><html><head><meta charset='utf-8'><title></title></head>"
    "<body style='font-size: 40px'>"
    + "".join(
        f"<h2>Part {n}</h2><p>{a}</p><p>{b}</p>"
        for n, (a, b) in enumerate(zip(PARAGRAPHS[::2], PARAGRAPHS[1::2], strict=True), start=1)
    )
    + "</body></html>"
)
# The page's separators: an en dash between pages, a single guillemet between headings.
EN_DASH, GUILLEMET = "\u2013", "\u203a"
_PAGES = re.compile(rf" · pp?\. (\d+)(?:{EN_DASH}(\d+))?$")


def upload(page: Page, name: str, mime: str, data: bytes) -> None:
    """Uploads the bytes through the page's file picker, as a user would."""
    payload: FilePayload = {"name": name, "mimeType": mime, "buffer": data}
    page.set_input_files("#file-picker", payload)
    expect(page.locator("#doc-title")).to_have_text(name)


def shown_text(page: Page) -> str:
    """The document view's text without the chunk labels."""
    text: str = page.locator("#document").evaluate(
        "(doc) => Array.from(doc.childNodes).filter((n) => !n.classList?.contains('chunk-tag'))"
        ".map((n) => n.textContent).join('')"
    )
    return text


def drawn_labels(page: Page, count: int) -> list[dict[str, Any]]:
    """Each chunk label's page part (its first text node) and heading path (null if none)."""
    labels: list[dict[str, Any]] = page.evaluate(
        """(count) => Array.from({ length: count }, (_, i) => {
            const tag = document.getElementById(`chunk-${i}`);
            return { head: tag.firstChild.nodeValue,
                     headings: tag.querySelector(".headings")?.textContent ?? null };
        })""",
        count,
    )
    return labels


def pages_of(head: str) -> list[int] | None:
    """[first, last] from a label such as "#3 · 60 tok · p. 2"; None if it names no page."""
    found = _PAGES.search(head)
    if not found:
        return None
    first = int(found[1])
    return [first, int(found[2] or first)]


def assert_drawn_as_answered(
    page: Page, server: LiveServer, file_id: str, capacity: int = CAPACITY
) -> dict[str, Any]:
    """The page shows the file's extracted text, cut and labelled exactly as /v1/chunks says."""
    page.locator("#capacity").fill(str(capacity))
    answer = api_chunks(server, file_id, chunk_capacity=capacity)
    wait_for_chunks(page, answer)
    count = len(answer["chunks"])
    text = httpx.get(f"{server.url}/v1/files/{file_id}/text", timeout=60)
    assert text.status_code == 200, text.text
    assert shown_text(page) == text.text
    assert drawn_chunk_texts(page, count) == answer["chunks"]
    labels = drawn_labels(page, count)
    for label, detail in zip(labels, answer["chunk_details"], strict=True):
        assert label["headings"] == (f" {GUILLEMET} ".join(detail["headings"]) or None), label
        assert pages_of(label["head"]) == detail["pages"], label
    return answer


def test_html_page_shows_extracted_text_and_heading_paths(page: Page, server: LiveServer) -> None:
    upload(page, "paris.html", "text/html", HTML_DOC.encode())
    file_id = stored_id(server, "paris.html")
    answer = assert_drawn_as_answered(page, server, file_id)
    shown = shown_text(page)
    for line in ("# Paris", "## History", "## Landmarks"):
        assert f"\n{line}\n" in f"\n{shown}", line
    assert NAV_TEXT not in shown
    assert SCRIPT_TEXT not in shown
    paths = {tuple(d["headings"]) for d in answer["chunk_details"]}
    assert {("Paris", "History"), ("Paris", "Landmarks")} <= paths
    assert all(d["pages"] is None for d in answer["chunk_details"])
    expect(page.locator("#document .chunk-tag .headings").first).to_be_visible()
    screenshot(page, "desktop-html-headings")


def test_markdown_nested_headings_label_each_chunk(page: Page, server: LiveServer) -> None:
    upload(page, "paris-nested.md", "text/markdown", MARKDOWN_DOC.encode())
    answer = assert_drawn_as_answered(page, server, stored_id(server, "paris-nested.md"))
    paths = {tuple(d["headings"]) for d in answer["chunk_details"]}
    assert {("Paris", "History", "The Tower"), ("Paris", "Landmarks", "Museums")} <= paths


@pytest.fixture(scope="module")
def printed_pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if shutil.which("chromium") is None:
        pytest.skip("needs Debian's chromium to print the PDF (listed in .ci/apt-packages.txt)")
    root: Path = tmp_path_factory.mktemp("printed")
    (root / "parts.html").write_text(PDF_HTML, encoding="utf-8")
    return documents.chromium_pdf(root / "parts.html", root / "parts.pdf")


def test_pdf_chunks_are_labelled_with_their_pages(
    page: Page, server: LiveServer, printed_pdf: bytes
) -> None:
    upload(page, "parts.pdf", "application/pdf", printed_pdf)
    answer = assert_drawn_as_answered(page, server, stored_id(server, "parts.pdf"))
    pages = [d["pages"] for d in answer["chunk_details"]]
    assert all(p is not None for p in pages)
    assert pages[-1][1] >= 3, pages  # several pages, as printed
    # The page separator is a paragraph break: chunks several paragraphs long cross it.
    answer = assert_drawn_as_answered(page, server, stored_id(server, "parts.pdf"), 200)
    pages = [d["pages"] for d in answer["chunk_details"]]
    spanning = [i for i, p in enumerate(pages) if p[0] < p[1]]
    assert spanning, pages
    tag = page.locator(f"#chunk-{spanning[0]}")
    expect(tag).to_contain_text(f"pp. {pages[spanning[0]][0]}{EN_DASH}{pages[spanning[0]][1]}")
    tag.scroll_into_view_if_needed()
    screenshot(page, "desktop-pdf-pages")
