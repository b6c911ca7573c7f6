"""render.js in the browser, fed chunk details as the API shapes them (pages and headings come
from document extraction; plain text has neither)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

RENDER = """async ([text, details]) => {
    const { renderDocument } = await import("/static/render.js");
    const box = document.getElementById("document");
    renderDocument(box, text, details);
    return Array.from(box.querySelectorAll(".chunk-tag"), (tag) => tag.textContent);
}"""


def render(page: Page, text: str, details: list[dict[str, Any]]) -> list[str]:
    tags: list[str] = page.evaluate(RENDER, [text, details])
    return tags


def test_code_point_offsets_walk_surrogate_pairs(page: Page) -> None:
    text = "a😀b\U0001d4ab\u00e9中🇫🇷z"
    offsets = page.evaluate(
        """async (text) => {
            const { codePointOffsets } = await import("/static/render.js");
            return Array.from(codePointOffsets(text));
        }""",
        text,
    )
    # One entry per Python str index (code point), plus the end: UTF-16 positions.
    expected, unit = [], 0
    for char in text:
        expected.append(unit)
        unit += 2 if ord(char) > 0xFFFF else 1
    assert offsets == [*expected, unit]
    assert len(offsets) == len(text) + 1


def test_pages_and_heading_paths_label_their_chunks(page: Page) -> None:
    text = "# Intro\n\nFirst part.\n\n## Details\n\nSecond part spans pages."
    details = [
        {"index": 0, "start": 0, "end": 20, "tokens": 6, "pages": [1, 1], "headings": ["Intro"]},
        {
            "index": 1,
            "start": 22,
            "end": len(text),
            "tokens": 9,
            "pages": [1, 2],
            "headings": ["Intro", "Details"],
        },
    ]
    tags = render(page, text, details)
    assert tags == [
        "#0 · 6 tok · p. 1 · Intro",
        "#1 · 9 tok · pp. 1\u20132 · Intro \u203a Details",
    ]


def test_without_pages_or_headings_tags_show_tokens_only(page: Page) -> None:
    details: list[dict[str, Any]] = [
        {"index": 0, "start": 0, "end": 5, "tokens": 2, "pages": None, "headings": []},
        {"index": 1, "start": 6, "end": 11, "tokens": 3},
    ]
    assert render(page, "Hello world", details) == ["#0 · 2 tok", "#1 · 3 tok"]


def test_markup_in_a_document_is_shown_as_text(page: Page) -> None:
    text = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    render(page, text, [{"index": 0, "start": 0, "end": len(text), "tokens": 20}])
    box = page.locator("#document")
    expect(box.locator("img, script")).to_have_count(0)
    expect(box.locator(".piece")).to_have_text(text)
    assert page.evaluate("window.pwned") is None
