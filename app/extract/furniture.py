"""Running headers and footers: lines repeated at the edges of most pages are not content."""

from __future__ import annotations

import re
from collections import Counter

# Chromium prints its header and footer together at the end of a page's text; LaTeX and word
# processors put them first and last. Looking at a few lines at each edge catches all of these.
EDGE_LINES = 3
_MIN_PAGES = 3
_SHARE = 0.5  # on at least half the pages
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def _key(line: str) -> str:
    """Page numbers and dates change from page to page; the rest of the line does not."""
    return _SPACE.sub(" ", _DIGITS.sub("#", line)).strip().lower()


def _edges(lines: list[str]) -> set[int]:
    content = [i for i, line in enumerate(lines) if line.strip()]
    return set(content[:EDGE_LINES] + content[-EDGE_LINES:])


def drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Each page's lines without the header/footer lines repeated across most pages."""
    if len(pages) < _MIN_PAGES:
        return pages
    seen: Counter[str] = Counter()
    for lines in pages:
        seen.update({_key(lines[i]) for i in _edges(lines)})
    needed = max(_MIN_PAGES, _SHARE * len(pages))
    running = {key for key, count in seen.items() if count >= needed and key}
    if not running:
        return pages
    kept: list[list[str]] = []
    for lines in pages:
        edges = _edges(lines)
        kept.append(
            [line for i, line in enumerate(lines) if i not in edges or _key(line) not in running]
        )
    return kept
