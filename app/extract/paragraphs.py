"""Paragraph breaks for PDF text, which PDFium gives as one line per printed line.

The chunker cuts at the largest break that fits, so without blank lines between paragraphs it
would cut at any line end, often mid-sentence. A printed paragraph's last line (and a heading,
a caption) is usually clearly shorter than the page's full lines. A blank line goes after each
such line that ends a sentence, unless the next line starts in lower case (the sentence goes
on). A heading ends without punctuation, so it stays with the paragraph under it, and the break
before it comes from the short last line above it. A missed break only costs a line-end cut.
"""

from __future__ import annotations

import statistics

_SHORT = 0.7  # of the page's typical full line, in characters
_MIN_LINES = 4  # too few lines to know what a full one is
_SENTENCE_END = tuple(".!?:;\"'\u201d\u2019)]")


def with_paragraph_breaks(lines: list[str]) -> str:
    """The page's lines joined, with a blank line after each short line."""
    lines = [line.rstrip() for line in lines]
    lengths = [len(line) for line in lines if line.strip()]
    if len(lengths) < _MIN_LINES:
        return "\n".join(lines).strip("\n")
    # The upper quartile stands for a full line even when many lines are short (lists, code).
    full = statistics.quantiles(lengths, n=4)[2]
    out: list[str] = []
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        out.append(line)
        if _ends_paragraph(line, following, full):
            out.append("")
    return "\n".join(out).strip("\n")


def _ends_paragraph(line: str, following: str, full: float) -> bool:
    if not line.strip() or not following.strip():
        return False
    return (
        len(line) < _SHORT * full
        and line.endswith(_SENTENCE_END)
        and not following.lstrip()[0].islower()
    )
