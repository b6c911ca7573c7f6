"""Running headers and footers: lines at the edges of pages that are not content.

Two kinds go:

- lines repeated at the edges of most pages (a title, a date, a URL), numbers that move in
  step with the page aside ("- 3 -", "3/17");
- page numbers: an edge line that is a bare page number ("5", "- 5 -", "iv"), or that carries
  the page number at its start or end ("Chapter 3: Utilities 7", "6 GNU libtasn1"). A number
  is the page number when it is the page's index plus the offset most such numbers share (front
  matter and a cover shift it). A head that carries it is dropped when its words repeat on
  other pages, or when the PDF says it stands apart in the page's top or bottom margin
  (`in_margin`): a heading "1 Preamble" on page 1 is neither.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

# Chromium prints its header and footer together at the end of a page's text; LaTeX and word
# processors put them first and last. Looking at a few lines at each edge catches all of these.
EDGE_LINES = 3
_MIN_PAGES = 3
_SHARE = 0.5  # on at least half the pages
_NUMBER = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
# "5", "- 5 -", "[5]", "Page 5", "5 of 30", "5/30"; roman numerals for front matter.
_BARE = re.compile(
    r"^(?:page\s+)?[-\u2013\u2014\[(]?\s*(\d{1,4})\s*[-\u2013\u2014\])]?(?:\s*(?:of|/)\s*\d{1,4})?$"
)
_ROMAN = re.compile(r"^[-\u2013\u2014\[(]?\s*([ivxlc]{1,7})\s*[-\u2013\u2014\])]?$")
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}

InMargin = Callable[[int, str], bool]


def _keys(line: str, page: int) -> set[tuple[str, int | None]]:
    """The line as it is, and with each number that could be the page number (n + offset).

    A running line repeats exactly (a title, a date) or differs only by a number that moves in
    step with the page ("- 3 -", "3/17"); any other number must stay the same.
    """
    text = _normal(line)
    keys: set[tuple[str, int | None]] = {(text, None)}
    for number in _NUMBER.finditer(text):  # one at a time: page 17 of 17 reads "17/17"
        if len(number.group()) <= 5:
            template = text[: number.start()] + "#" + text[number.end() :]
            keys.add((template, int(number.group()) - page))
    return keys


def _normal(line: str) -> str:
    return _SPACE.sub(" ", line).strip().lower()


def _edges(lines: list[str]) -> set[int]:
    content = [i for i, line in enumerate(lines) if line.strip()]
    # Short pages: never take more than a third of the lines from either edge.
    take = min(EDGE_LINES, max(1, len(content) // 3))
    return set(content[:take] + content[-take:])


def drop_running_lines(
    pages: list[list[str]], in_margin: InMargin | None = None
) -> list[list[str]]:
    """Each page's lines without its running header/footer and page number lines."""
    if len(pages) < _MIN_PAGES:
        return pages
    edges = [_edges(lines) for lines in pages]
    running = _repeated(pages, edges)
    numbers = _PageNumbers(pages, edges, in_margin)

    def furniture(page: int, line: str) -> bool:
        return bool(running and _keys(line, page) & running) or numbers.is_furniture(page, line)

    return [
        [line for i, line in enumerate(lines) if i not in edges[page] or not furniture(page, line)]
        for page, lines in enumerate(pages)
    ]


def _repeated(pages: list[list[str]], edges: list[set[int]]) -> set[tuple[str, int | None]]:
    seen: Counter[tuple[str, int | None]] = Counter()
    for page, lines in enumerate(pages):
        seen.update(set().union(*(_keys(lines[i], page) for i in edges[page])))
    needed = max(_MIN_PAGES, _SHARE * len(pages))
    return {key for key, count in seen.items() if count >= needed and key[0]}


def _roman(text: str) -> int | None:
    values = [_ROMAN_VALUES[c] for c in text]
    total = sum(
        -v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values)
    )
    return total if total > 0 else None


class _PageNumbers:
    """Where the printed page numbers are: the offset from the page index most edge numbers
    share, for arabic and for roman numerals, and the heads that carry them."""

    def __init__(
        self, pages: list[list[str]], edges: list[set[int]], in_margin: InMargin | None
    ) -> None:
        self._in_margin = in_margin
        offsets: dict[bool, Counter[int]] = {True: Counter(), False: Counter()}
        heads: Counter[str] = Counter()
        for page, lines in enumerate(pages):
            for i in edges[page]:
                found = _number(lines[i])
                if found is not None:
                    value, roman, head = found
                    offsets[roman][value - page] += 1
                    if head:
                        heads[head] += 1
        needed = max(2, len(pages) // 4)
        self._offset = {
            roman: offset
            for roman, counter in offsets.items()
            for offset, count in counter.most_common(1)
            if count >= (2 if roman else needed)
        }
        self._heads = {head for head, count in heads.items() if count >= 2}

    def is_furniture(self, page: int, line: str) -> bool:
        found = _number(line)
        if found is None:
            return False
        value, roman, head = found
        if self._offset.get(roman) != value - page:
            return not head and self._margin(page, line)  # set apart, alone: "i", "ii"
        return not head or head in self._heads or self._margin(page, line)

    def _margin(self, page: int, line: str) -> bool:
        return self._in_margin is not None and self._in_margin(page, line)


def _number(line: str) -> tuple[int, bool, str] | None:
    """(number, is roman, the rest of the line) if the line is or carries a page number."""
    text = _normal(line)
    if bare := _BARE.match(text):
        return int(bare.group(1)), False, ""
    if (roman := _ROMAN.match(text)) and (value := _roman(roman.group(1))):
        return value, True, ""
    first, _, rest = text.partition(" ")  # (split, not a regex: this runs on every edge line)
    if rest and first.isdigit() and len(first) <= 4:
        return int(first), False, rest
    head, _, last = text.rpartition(" ")
    if head and last.isdigit() and len(last) <= 4:
        return int(last), False, head
    return None
