"""The markup scan bounds what html-to-markdown adds to a page, checked against the converter
itself on the shapes that inflate (issue 24) and on ordinary markup."""

from __future__ import annotations

import html_to_markdown
import pytest

from app.extract.markup_growth import markup_growth

PAGES = {
    "nested quotes": "<blockquote>" * 300 + "<p>" + "x<br>" * 2000 + "</p>",
    "quotes closed in turn": "<blockquote><p>x</p>" * 2000,
    "nested bullets": "<ul><li>x" * 2000,
    "numbered from 10**8": "<ol start=100000000>" + "<li>a</li>" * 1000 + "</ol>",
    "nested numbered lists": "<ol start=1000000000000><li>a" * 300 + "<br>x" * 1000,
    "rowspans": "<table>" + "<tr><td rowspan=1000>x</td><td>y</td></tr>" * 2000 + "</table>",
    "colspan": "<table><tr><td colspan=100000>x</td></tr><tr><td>y</td></tr></table>",
    "one wide cell": "<table><tr><td>"
    + "w" * 10000
    + "</td></tr>"
    + "<tr><td>y</td></tr>" * 1000
    + "</table>",
    "quote closed inside a table": "<blockquote><table><td></blockquote>" * 300 + "x<br>" * 2000,
    "quotes in a cell": "<table><tr><td>" + "<blockquote>" * 200 + "x<br>" * 2000 + "</table>",
    "a data table": "<table>" + ("<tr>" + "<td>cell value</td>" * 20 + "</tr>") * 300,
    "mixed": "<ul><li>a<ul><li>b<ol><li>c<blockquote>d<br>e</blockquote></li></ol></li></ul>",
}


def _converted(html: str) -> str:
    return html_to_markdown.convert(html, html_to_markdown.ConversionOptions()).content or ""


@pytest.mark.parametrize("name", PAGES)
def test_the_scan_bounds_what_the_converter_adds(name: str) -> None:
    html = PAGES[name]
    assert len(_converted(html)) - len(html) <= markup_growth(html)


def test_plain_markup_adds_nothing_and_a_stop_ends_the_scan_early() -> None:
    assert markup_growth("<p>Words, <a href='#x'>a link</a>.</p>" * 1000) == 0
    hostile = PAGES["nested quotes"]
    full = markup_growth(hostile)
    assert full > 1_000_000
    assert 1000 < markup_growth(hostile, stop_above=1000) < full
