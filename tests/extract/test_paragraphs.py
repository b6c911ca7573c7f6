"""Blank lines after short printed lines, so chunks end at paragraph ends."""

from __future__ import annotations

from app.extract.paragraphs import with_paragraph_breaks

FULL = ("Word " * 12).strip()


def test_short_last_lines_end_paragraphs_and_headings_stay_with_their_text() -> None:
    lines = ["1. Heading", FULL, FULL, "ends here.", "2. Next Heading", FULL, "end.", "Last one."]
    text = with_paragraph_breaks(lines)
    assert text.split("\n\n") == ["\n".join(lines[:4]), "\n".join(lines[4:7]), "Last one."]


def test_a_lower_case_continuation_is_the_same_paragraph() -> None:
    lines = [FULL, FULL, "short before a", "continuation in lower case " + "z" * 30, FULL]
    assert "\n\n" not in with_paragraph_breaks(lines)


def test_few_lines_are_left_as_they_are() -> None:
    assert with_paragraph_breaks(["a", "Bb", ""]) == "a\nBb"
