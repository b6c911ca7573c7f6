"""Running headers and footers: lines repeated at the edges of most pages are not content."""

from __future__ import annotations

import re
from collections import Counter

# Chromium prints its header and footer together at the end of a page's text; LaTeX and word
# processors put them first and last. Looking at a few lines at each edge catches all of these.
EDGE_LINES = 3
_MIN_PAGES = 3
_SHARE = 0.5  # on at least half the pages
_NUMBER = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def _keys(line: str, page: int) -> set[tuple[str, int | None]]:
    """The line as it is, and with each number that could be the page number (n + offset).

    A running line repeats exactly (a title, a date) or differs only by a number that moves in
    step with the page ("- 3 -", "3/17"); any other number must stay the same.
    """
    text = _SPACE.sub(" ", line).strip().lower()
    keys: set[tuple[str, int | None]] = {(text, None)}
    for number in _NUMBER.finditer(text):  # one at a time: page 17 of 17 reads "17/17"
        if len(number.group()) <= 5:
            template = text[: number.start()] + "#" + text[number.end() :]
            keys.add((template, int(number.group()) - page))
    return keys


def _edges(lines: list[str]) -> set[int]:
    content = [i for i, line in enumerate(lines) if line.strip()]
    # Short pages: never take more than a third of the lines from either edge.
    take = min(EDGE_LINES, max(1, len(content) // 3))
    return set(content[:take] + content[-take:])


def drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Each page's lines without the header/footer lines repeated across most pages."""
    if len(pages) < _MIN_PAGES:
        return pages
    seen: Counter[tuple[str, int | None]] = Counter()
    for page, lines in enumerate(pages):
        seen.update(set().union(*(_keys(lines[i], page) for i in _edges(lines))))
    needed = max(_MIN_PAGES, _SHARE * len(pages))
    running = {key for key, count in seen.items() if count >= needed and key[0]}
    if not running:
        return pages
    kept: list[list[str]] = []
    for page, lines in enumerate(pages):
        edges = _edges(lines)
        kept.append(
            [
                line
                for i, line in enumerate(lines)
                if i not in edges or not _keys(line, page) & running
            ]
        )
    return kept
