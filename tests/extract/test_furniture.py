"""Running headers/footers: the page-edge lines that repeat (page numbers aside) go."""

from __future__ import annotations

from app.extract.furniture import drop_running_lines


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
