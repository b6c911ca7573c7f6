"""Retakes docs/inspector.png, the README's picture of the chunk inspector.

.venv/bin/python -m tests.browser.readme_screenshot
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from benchmarks.live import live_server
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import DATA, REPO

OUT = REPO / "docs" / "inspector.png"
DOCUMENT = DATA / "docs" / "fastapi-readme.md"


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        live_server(Path(tmp) / "storage") as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.goto(server.url)
        page.set_input_files("#file-picker", str(DOCUMENT))
        page.locator("#capacity").fill("96")
        page.locator("#overlap").fill("16")
        expect(page.locator("#summary")).to_have_attribute("data-overlap", "16")
        page.locator("#query").fill("How do I declare a path parameter?")
        page.locator("#query").press("Enter")
        expect(page.locator("#document .chunk-tag.best")).to_have_count(1, timeout=180_000)
        page.wait_for_timeout(800)  # let the smooth scroll settle
        # The page from its top, the best chunk near the top of the text box.
        page.evaluate(
            """() => {
                window.scrollTo(0, 0);
                const box = document.getElementById("document");
                box.style.scrollBehavior = "auto";
                const tag = box.querySelector(".chunk-tag.best");
                const top = tag.getBoundingClientRect().top - box.getBoundingClientRect().top;
                box.scrollTop += top - 120;
            }"""
        )
        OUT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT))
        browser.close()
    print(f"{OUT}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
