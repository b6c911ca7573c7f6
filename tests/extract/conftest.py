"""Session fixtures: the real documents (see documents.py) and one extraction worker pool."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.extract import Extractor
from tests.extract import documents

# Chromium prints the title and date at the top and the URL and "n/m" at the bottom of a page.
IMAGE_ONLY_HTML = """<!doctype html><html><head><title></title></head><body>
<svg width="600" height="400"><rect x="20" y="20" width="300" height="200" fill="teal"/>
<circle cx="400" cy="250" r="80" fill="orange"/></svg></body></html>"""
HYPHENATED_HTML = """<!doctype html><html><body style="width:9em;font-size:15px">
<p>The inter&shy;nationali&shy;zation of extra&shy;ordinarily compre&shy;hensive
documen&shy;tation matters. Well-known self-contained multi-page things.</p></body></html>"""


@dataclass(frozen=True)
class Corpus:
    markdown: str
    html: bytes
    docx: bytes
    epub: bytes
    pptx: bytes
    odt: bytes
    pdf: bytes  # no running header/footer
    pdf_path: Path
    pdf_furnished: bytes  # Chromium's running header and footer on every page
    pdf_encrypted: bytes
    pdf_image_only: bytes
    pdf_hyphenated: bytes


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    missing = documents.missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (listed in .ci/apt-packages.txt)")
    root = tmp_path_factory.mktemp("extract")
    markdown = documents.gpl_markdown()
    html = documents.pandoc_file(
        markdown, root / "gpl.html", "-s", "--toc", "--metadata", "title=GPL"
    )
    docx = documents.pandoc_file(markdown, root / "gpl.docx")
    epub = documents.pandoc_file(markdown, root / "gpl.epub", "--metadata", "title=GPL")
    pptx = documents.pandoc_file(markdown, root / "gpl.pptx", "--slide-level", "3")
    odt = documents.pandoc_file(markdown, root / "gpl.odt")
    pdf = documents.chromium_pdf(root / "gpl.html", root / "gpl.pdf")
    furnished = documents.chromium_pdf(
        root / "gpl.html", root / "furnished.pdf", header_footer=True
    )
    (root / "image.html").write_text(IMAGE_ONLY_HTML)
    (root / "hyphen.html").write_text(HYPHENATED_HTML)
    return Corpus(
        markdown=markdown,
        html=html,
        docx=docx,
        epub=epub,
        pptx=pptx,
        odt=odt,
        pdf=pdf,
        pdf_path=root / "gpl.pdf",
        pdf_furnished=furnished,
        pdf_encrypted=_encrypted(root / "gpl.pdf", root / "encrypted.pdf"),
        pdf_image_only=documents.chromium_pdf(root / "image.html", root / "image.pdf"),
        pdf_hyphenated=documents.chromium_pdf(root / "hyphen.html", root / "hyphen.pdf"),
    )


def _encrypted(source: Path, out: Path) -> bytes:
    import subprocess

    subprocess.run(
        ["qpdf", "--encrypt", "user-secret", "owner-secret", "256", "--", str(source), str(out)],
        check=True,
    )
    return out.read_bytes()


@pytest.fixture(scope="session")
def extractor() -> Iterator[Extractor]:
    pool = Extractor()
    yield pool
    pool.close()
