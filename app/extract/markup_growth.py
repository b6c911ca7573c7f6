"""How much longer than its HTML the Markdown of a page can get, found before converting it.

html-to-markdown's output is not bounded by its input (issue 24, measured with 3.21):
- every line inside nested blockquotes and lists repeats their prefix ("> > > ", indents), so
  300 nested quotes around 100,000 <br> (504 kB) became 60 M characters, 10 GB at peak, in 30 s;
- table cells are padded to their column's width (up to 200), and rowspan/colspan (clamped to
  1,000 by the converter) add empty padded cells to the following rows.
The converter cannot be stopped midway, so the page is scanned first (one regex pass; Python
work only per quote, list and table tag) and refused past the text limit before it runs.

The scan follows the HTML parser's scoping where it matters for an upper bound: a close tag
does not close a quote or list opened outside the table (or object, template, ...) it is in.
It overestimates (every tag and newline is taken to start a line), never the other way on
what it models; the exact count after conversion stays the backstop.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# Cell and row end tags are left out (the next cell, row or </table> closes what a cell
# opened; closing later only overestimates): half the tags of a table-heavy page.
_TAG = re.compile(
    r"<(/(?!t[dhr]\b))?"
    r"(blockquote|ul|ol|table|tr|td|th|caption|object|applet|marquee|template)\b([^>]*)>",
    re.IGNORECASE,
)
_SPAN = {
    name: re.compile(name + r"""\s*=\s*["']?\s*(\d+)""", re.I) for name in ("colspan", "rowspan")
}
_START = re.compile(r"""start\s*=\s*["']?\s*(-?\d+)""", re.IGNORECASE)
QUOTE_WIDTH = 2  # "> "
BULLET_WIDTH = 4  # "- " and the indent under it
NUMBER_WIDTH = 12  # "1000000. " and its indent; plus the digits of a stated start
MAX_SPAN = 1000  # what html-to-markdown clamps colspan and rowspan to
MAX_CELL = 200  # the widest it pads a column to
_ANY = re.compile(r"<(?:blockquote|ul|ol|table)\b", re.IGNORECASE)
_NESTING = re.compile(r"<(?:blockquote|ul|ol)\b|(?:col|row)span\s*=", re.IGNORECASE)
_CHECK_EVERY = 4096  # tags between looks at what the open tables cost so far
_SCOPES = {"table", "caption", "object", "applet", "marquee", "template"}
_CELL_PARTS = {"tr", "td", "th"}  # not stack entries: their table is the scope


@dataclass
class _Table:
    """A table's rows and cells so far: what its padded Markdown can cost."""

    prefix: int  # the quote and list prefix of its lines
    rows: int = 0
    widths: Counter[int] = field(default_factory=Counter)  # own cells per row -> rows
    own: int = 0  # cells in the current row
    column_max: list[int] = field(default_factory=list)  # longest text per column position
    carried: int = 0  # cells that rowspans above add to the current row
    carried_total: int = 0
    expiring: Counter[int] = field(default_factory=Counter)  # row -> carried cells ending there
    cell: int | None = None  # the column position whose text comes next

    def row(self) -> None:
        self._end_row()
        self.rows += 1
        self.carried -= self.expiring.pop(self.rows, 0)
        self.carried_total += self.carried

    def _end_row(self) -> None:
        if self.own:
            self.widths[self.own] += 1
        self.own, self.cell = 0, None

    def add_cell(self, attributes: str) -> None:
        if self.rows == 0:
            self.row()  # a cell without <tr>: the parser makes the row
        self.cell = self.own
        if "span" not in attributes.lower():
            self.own += 1
            return
        columns, rows = _span(attributes, "colspan"), _span(attributes, "rowspan")
        self.own += columns
        if rows > 1:
            self.carried += columns
            self.expiring[self.rows + rows] += columns

    def text(self, length: int) -> None:
        if self.cell is None:
            return
        if self.cell >= len(self.column_max):
            self.column_max.extend([0] * (self.cell + 1 - len(self.column_max)))
        self.column_max[self.cell] = max(self.column_max[self.cell], length)

    def cost(self) -> int:
        """Characters its Markdown can take: padded cells, carried cells, row ends and the
        header's separator row (at least 3 dashes a column). The current row counts as ended."""
        padded = [max(3, min(width, MAX_CELL)) + 3 for width in self.column_max]
        widest = max(padded, default=6)
        total = self.carried_total * widest + self.rows * (self.prefix + 2)
        widths = self.widths + Counter({self.own: 1}) if self.own else self.widths
        for width, count in widths.items():
            known = padded[:width]
            total += count * (sum(known) + (width - len(known)) * widest)
        columns = max(widths, default=0)
        return total + sum(padded) + max(0, columns - len(padded)) * widest + self.prefix


@dataclass
class _Open:
    name: str  # "list" for ul and ol (either closes either)
    width: int = 0  # its share of the line prefix
    table: _Table | None = None


class _Scan:
    """The open quotes, lists, tables and scopes, with each name's positions kept, so every
    tag costs O(1) amortised even when a page nests 100,000 deep."""

    def __init__(self) -> None:
        self.stack: list[_Open] = []
        self.where: dict[str, list[int]] = {}  # name -> its positions in the stack
        self.scopes: list[int] = []  # positions of scope elements
        self.tables: list[_Table] = []
        self.prefix = 0
        self.growth = 0

    def push(self, entry: _Open) -> None:
        self.where.setdefault(entry.name, []).append(len(self.stack))
        if entry.name in _SCOPES:
            self.scopes.append(len(self.stack))
        if entry.table is not None:
            self.tables.append(entry.table)
        self.prefix += entry.width
        self.stack.append(entry)

    def pop_to(self, index: int) -> None:
        """Close the entry at `index` and everything opened inside it."""
        if index >= len(self.stack):
            return
        while len(self.stack) > index:
            entry = self.stack.pop()
            self.where[entry.name].pop()
            if entry.name in _SCOPES:
                self.scopes.pop()
            if entry.table is not None:
                self.growth += self.tables.pop().cost()
            self.prefix -= entry.width

    def so_far(self) -> int:
        """The growth found so far, the open tables counted as they stand."""
        return self.growth + sum(table.cost() for table in self.tables)

    def last(self, name: str) -> int:
        positions = self.where.get(name)
        return positions[-1] if positions else -1

    def open(self, name: str, attributes: str) -> None:
        if name == "blockquote":
            self.push(_Open(name, QUOTE_WIDTH))
        elif name == "ul":
            self.push(_Open("list", BULLET_WIDTH))
        elif name == "ol":
            start = _START.search(attributes)
            self.push(_Open("list", NUMBER_WIDTH + (len(start.group(1)[:20]) if start else 0)))
        elif name == "table":
            self.push(_Open(name, table=_Table(self.prefix)))
        elif name in _CELL_PARTS:
            if not self.tables:
                return  # a stray cell outside a table is ignored by the parser
            # A new cell or row closes the one before, with everything inside it.
            self.pop_to(self.last("table") + 1)
            table = self.tables[-1]
            if name == "tr":
                table.row()
            else:
                table.add_cell(attributes)
        else:
            self.push(_Open(name))  # a scope: caption, object, template, ...

    def close(self, name: str) -> None:
        if name in _CELL_PARTS:  # closes what the cell opened, up to its table
            if self.tables:
                self.pop_to(self.last("table") + 1)
            return
        key = "list" if name in ("ul", "ol") else name
        index = self.last(key)
        if index < 0:
            return
        scope = self.scopes[-1] if self.scopes else -1
        if scope > index:
            return  # not in scope: the parser ignores the close tag
        self.pop_to(index)


def markup_growth(html: str, *, stop_above: int | None = None) -> int:
    """Characters the Markdown of `html` may have beyond the page's own characters; the scan
    ends early once past `stop_above`."""
    if _ANY.search(html) is None:
        return 0  # no quote, list or table: nothing repeats or pads
    limit = float("inf") if stop_above is None else stop_above
    if _NESTING.search(html) is None and (coarse := _flat_tables(html)) <= limit:
        return coarse  # tables only, within the limit even at their widest: no need to scan
    scan = _Scan()
    position = 0
    for count, match in enumerate(_TAG.finditer(html)):
        if count % _CHECK_EVERY == 0 and (growth := scan.so_far()) > limit:
            return growth
        start = match.start()
        if scan.prefix:
            lines = html.count("<", position, start) + html.count("\n", position, start)
            scan.growth += (lines + 1) * scan.prefix
        if scan.tables:
            scan.tables[-1].text(start - position)
        if scan.growth > limit:
            return scan.growth
        position = match.end()
        closing, name, attributes = match.groups()
        name = name.lower()
        if closing:
            scan.close(name)
        else:
            scan.open(name, attributes)
    segment = html[position:]
    scan.growth += (segment.count("<") + segment.count("\n")) * scan.prefix
    scan.pop_to(0)
    return scan.growth


def _flat_tables(html: str) -> int:
    """A bound for tables without spans, quotes or lists, from tag counts alone (C speed):
    every cell padded to the widest column, a separator cell for each, two characters a row."""
    lower = html.lower()
    cells = lower.count("<td") + lower.count("<th") - lower.count("<thead")
    return 2 * cells * (MAX_CELL + 3) + 2 * lower.count("<tr")


def _span(attributes: str, name: str) -> int:
    found = _SPAN[name].search(attributes)
    if found is None:
        return 1
    value = int(found.group(1)[:7])
    return MAX_SPAN if value == 0 or value > MAX_SPAN else value
