"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, against a live server.

Never `playwright install`: it downloads a browser. `make sysdeps` installs Debian's chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from benchmarks.live import LiveServer, live_server
from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots of every browser test land here (gitignored): look at them after a change.
ARTIFACTS = REPO / "tests" / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Embedding a whole file on 2 cores shared with other jobs can take many seconds.
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)


# Module scope: sync Playwright runs an event loop in this thread while it lives, and async
# tests in later modules (pytest-asyncio) cannot start theirs beside it.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make sysdeps, as root)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, default_gguf: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("inspector") / "storage") as running:
        yield running


def open_page(browser: Browser, url: str, viewport: dict[str, int]) -> Page:
    context = browser.new_context(base_url=url, viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto("/")
    return page


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    opened = open_page(browser, server.url, DESKTOP)
    yield opened
    opened.context.close()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
