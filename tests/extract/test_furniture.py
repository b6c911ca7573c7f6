"""Running headers/footers: the page-edge lines that repeat (page numbers aside) go."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from app.extract import ExtractLimits, Extractor, extract_with
from app.extract.furniture import drop_running_lines
from tests.extract import documents


def _book(pages: int) -> list[list[str]]:
    return [
        [
            "Chapter 2. Options" if n % 2 else "The ragprep manual",
            "",
            f"Option --size {n * 7} is set on page {n}.",
            f"Body line two with {n * n} items.",
            "Body line three.",
            "Body line four.",
            "Body line five.",
            "Body line six.",
            f"- {n} -",
        ]
        for n in range(1, pages + 1)
    ]


def test_headers_and_page_numbers_go_body_stays() -> None:
    kept = drop_running_lines(_book(8))
    for n, lines in enumerate(kept, start=1):
        # At the edges, but their numbers do not move in step with the page.
        assert f"Option --size {n * 7} is set on page {n}." in lines
        assert f"Body line two with {n * n} items." in lines
        assert f"- {n} -" not in lines
        assert "The ragprep manual" not in lines
        assert "Chapter 2. Options" not in lines


def test_repeated_lines_inside_the_page_are_content() -> None:
    # Line three is identical everywhere but never at an edge once the furniture is there.
    pages = [["Header", "a", "b", "c", "Same middle line", "d", "e", "f", "Footer"]] * 6
    kept = drop_running_lines(pages)
    assert all("Same middle line" in lines for lines in kept)
    assert all("Header" not in lines and "Footer" not in lines for lines in kept)


def test_short_documents_and_rare_lines_are_left_alone() -> None:
    two = _book(2)
    assert drop_running_lines(two) == two
    pages = [[f"Unique first line {chr(65 + n)}", "text", "Appendix"] for n in range(6)]
    pages[0][-1] = "Index"
    assert drop_running_lines(pages)[0] == ["Unique first line A", "text", "Index"]
    assert all("Appendix" not in lines for lines in drop_running_lines(pages)[1:])


def _numbered(pages: int, offset: int) -> list[list[str]]:
    """A GNU-style book: heads with the page number (its index + offset) on alternate sides,
    chapters whose first page has a bare number and a numbered heading."""
    book = []
    for index in range(pages):
        number = index + offset
        chapter = index // 3 + 1
        if index % 3 == 0:
            top = [str(number), f"{chapter} Chapter {chapter} begins"]
        elif number % 2:
            top = [f"Chapter {chapter}: Topic {chapter} {number}"]
        else:
            top = [f"{number} The Manual"]
        body = [f"Body line {line} of page {index}, with {number * 10} items." for line in range(6)]
        book.append([*top, *body])
    return book


def test_page_numbers_and_the_heads_carrying_them_go() -> None:
    book = _numbered(12, offset=3)  # printed page 3 is the first page of the file
    # As the PDF's text boxes tell it: the first line of each page stands apart at the top.
    kept = drop_running_lines(book, lambda page, line: line == book[page][0])
    for index, (lines, before) in enumerate(zip(kept, book, strict=True)):
        chapter = index // 3 + 1
        assert [line for line in before if line not in lines] == before[:1]
        if index % 3 == 0:  # "2 Chapter 2 begins" under its page's bare number is a heading
            assert lines[0] == f"{chapter} Chapter {chapter} begins"


def test_without_positions_only_repeated_heads_and_bare_numbers_go() -> None:
    book = _numbered(12, offset=3)
    kept = drop_running_lines(book)
    for index, (lines, before) in enumerate(zip(kept, book, strict=True)):
        number = index + 3
        if index % 3 == 0 or number % 2 == 0:  # a bare number; "8 The Manual" on even pages
            assert lines == before[1:]
        else:  # "Chapter 2: Topic 2 7" is printed on one page only: nothing says it is a head
            assert lines == before


def test_numbers_that_are_not_the_page_number_stay() -> None:
    book = _numbered(12, offset=3)
    for index, lines in enumerate(book):
        lines.append(str(index * 7 % 13 + 40))  # bare numbers at the bottom, out of step
    kept = drop_running_lines(book)
    assert all(lines[-1] == str(index * 7 % 13 + 40) for index, lines in enumerate(kept))


@pytest.fixture(scope="module")
def manual(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [tool for tool in ("texi2pdf", "pdftotext") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (texinfo, texlive-base: .ci/apt-packages.txt)")
    path = tmp_path_factory.mktemp("manual") / "manual.pdf"
    documents.texinfo_manual(path)
    return path


def _body(pdf: Path) -> str:
    """poppler's text of the type area only: letter pages, less Texinfo's headline band (the
    running head and page number sit 51-58 pt from the top, the text starts at 96 pt)."""
    done = subprocess.run(
        ["pdftotext", "-x", "0", "-y", "75", "-W", "612", "-H", "717", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_a_texinfo_manual_loses_its_running_heads_and_page_numbers(
    manual: Path, extractor: Extractor
) -> None:
    full = subprocess.run(
        ["pdftotext", "-layout", str(manual), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"(?m)^\f?Chapter 2: Terms and conditions +\d+$", full)  # there to drop
    assert re.search(r"(?m)^\f?\d+ +GNU Licence Manual$", full)
    document = extract_with(
        extractor, manual.read_bytes(), filename="manual.pdf", limits=ExtractLimits()
    )
    body = _body(manual)
    assert len(document.pages) >= 30
    # Nothing that is body text is lost, and nothing of the furniture is left.
    assert documents.coverage(body, document.text) >= 0.99
    assert documents.coverage(document.text, body) >= 0.99
    lines = [line.strip() for line in document.text.splitlines()]
    assert not [line for line in lines if re.fullmatch(r"\d+|[ivx]+", line)]
    assert not [line for line in lines if line.startswith("Chapter ")]
    assert not [line for line in lines if line.endswith("GNU Licence Manual") and line[0].isdigit()]
    # Chapter headings that begin with their chapter number stay, also where that number is
    # the page number's neighbour ("1 Preamble" on page 1, under its bare "1").
    for heading in ("1 Preamble", "2 Terms and conditions", "4 8. Termination", "7 11. Patents"):
        assert heading in lines, heading
    words, reference = Counter(documents.words(document.text)), Counter(documents.words(body))
    for word in ("chapter", "licence", "manual"):
        assert words[word] == reference[word], word
