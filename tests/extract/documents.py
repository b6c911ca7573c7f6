"""Real documents for the extraction tests, made at test time by real tools.

The prose is the GPL-3 text Debian ships in every system (base-files), turned into Markdown
with three heading levels, a nested list and a table; pandoc renders it to HTML and DOCX and
Chromium prints the HTML to PDF (with its own running header/footer and a PDF outline).
poppler's pdftotext and pandoc's plain-text writer are the independent references.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

GPL = Path("/usr/share/common-licenses/GPL-3")
TOOLS = ("pandoc", "chromium", "qpdf", "pdftotext")
_NUMBERED = re.compile(r"^\d+\. \S")
_LEVEL_2 = ("Preamble", "TERMS AND CONDITIONS")

EXTRA = """
## Summary of obligations

- Conveying object code
  - with the Corresponding Source alongside
  - or with a written offer valid for three years
- Modified versions
  - carry prominent notices

| Section | Subject | Kind |
| --- | --- | --- |
| 4 | Verbatim copies | permission |
| 15 | Disclaimer of warranty | limitation |

> Quoted: free as in freedom.

The licence text is Debian's copy.[^source]

[^source]: Shipped in base-files as /usr/share/common-licenses/GPL-3.
"""


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def gpl_markdown() -> str:
    """GPL-3 as Markdown: the title is h1, Preamble and Terms h2, numbered sections h3."""
    lines = GPL.read_text(encoding="utf-8").split("END OF TERMS AND CONDITIONS")[0].splitlines()
    blocks: list[str] = []
    paragraph: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            if paragraph:
                blocks.append(" ".join(paragraph))
                paragraph = []
            continue
        if line == "GNU GENERAL PUBLIC LICENSE":
            blocks.append(f"# {line.title()}")
        elif line in _LEVEL_2:
            blocks.append(f"## {line.capitalize()}")
        elif _NUMBERED.match(line) and line.endswith("."):
            blocks.append(f"### {line.rstrip('.')}")
        else:
            paragraph.append(line)
    if paragraph:
        blocks.append(" ".join(paragraph))
    return "\n\n".join(blocks) + "\n" + EXTRA


def pandoc(source: str, *args: str) -> bytes:
    """pandoc from Markdown (no smart punctuation, so the words stay the source's words)."""
    return subprocess.run(
        ["pandoc", "-f", "markdown-smart", *args],
        input=source.encode(),
        capture_output=True,
        check=True,
    ).stdout


def pandoc_file(source: str, out: Path, *args: str) -> bytes:
    subprocess.run(
        ["pandoc", "-f", "markdown-smart", "-o", str(out), *args],
        input=source.encode(),
        check=True,
    )
    return out.read_bytes()


def chromium_pdf(html: Path, out: Path, *, header_footer: bool = False) -> bytes:
    """Print `html` with headless Chromium, with an outline from its headings."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--print-to-pdf={out}",
                "--generate-pdf-document-outline",
                *([] if header_footer else ["--no-pdf-header-footer"]),
                html.as_uri(),
            ],
            capture_output=True,
            check=True,
            timeout=120,
        )
    return out.read_bytes()


def pdftotext(pdf: Path, *pages: int) -> str:
    """poppler's text of `pdf` (of one page when `pages` is (first, last))."""
    bounds = ["-f", str(pages[0]), "-l", str(pages[1])] if pages else []
    result = subprocess.run(
        ["pdftotext", *bounds, str(pdf), "-"], capture_output=True, check=True, text=True
    )
    return result.stdout


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def coverage(reference: str, extracted: str) -> float:
    """The share of the reference's words (with multiplicity) that the extraction has too."""
    from collections import Counter

    wanted, found = Counter(words(reference)), Counter(words(extracted))
    total = sum(wanted.values())
    return sum(min(count, found[word]) for word, count in wanted.items()) / total


def scanned_pdf(pdf: Path, out: Path, *, dpi: int = 300) -> bytes:
    """`pdf` as a scan would be: each page a greyscale JPEG (pdftoppm) and no text layer."""
    import pypdfium2 as pdfium

    prefix = out.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-jpeg", str(pdf), str(prefix)], check=True
    )
    images = sorted(prefix.parent.glob(f"{prefix.name}-*.jpg"))
    source, scan = pdfium.PdfDocument(pdf), pdfium.PdfDocument.new()
    try:
        for index, image_path in enumerate(images):
            width, height = source[index].get_size()
            page = scan.new_page(width, height)
            image = pdfium.PdfImage.new(scan)
            image.load_jpeg(str(image_path), inline=True)
            image.set_matrix(pdfium.PdfMatrix().scale(width, height))
            page.insert_obj(image)
            page.gen_content()
            image_path.unlink()
        scan.save(out)
    finally:
        source.close()
        scan.close()
    return out.read_bytes()


def mixed_pdf(text_pdf: Path, scan_pdf: Path, out: Path, scanned: str) -> bytes:
    """Pages of `text_pdf`, with the pages in range `scanned` (qpdf syntax, e.g. "2-3") taken
    from its scanned copy instead."""
    first, _, last = scanned.partition("-")
    last = last or first
    pages = [str(text_pdf), f"1-{int(first) - 1}", str(scan_pdf), f"{first}-{last}"]
    pages += [str(text_pdf), f"{int(last) + 1}-z"]
    subprocess.run(["qpdf", "--empty", "--pages", *pages, "--", str(out)], check=True)
    return out.read_bytes()


def texinfo_manual(out: Path) -> bytes:
    """The GPL-3 as a Texinfo manual typeset by texi2pdf (pdfTeX), as GNU manuals are: running
    heads "Chapter 7: Additional Terms   9" on odd pages and "10   GNU Licence Manual" on even
    ones, a bare page number atop each chapter's first page, roman numerals in the contents.
    Sections 0-6 are sections of one chapter, 7 on are chapters of their own (short chapters,
    whose running head is printed once)."""
    blocks: list[str] = []
    for block in gpl_markdown().split("\n\n"):
        if block.startswith("## Summary"):
            break  # the Markdown extras (lists, table) are not Texinfo
        title = block.lstrip("#").strip()
        number = title.split(".", 1)[0]
        if block.startswith("# "):
            continue  # the manual's title
        if block.startswith("## "):
            blocks.append(f"@node {title}\n@chapter {_texi(title)}")
        elif block.startswith("### "):
            kind = "section" if int(number) < 7 else "chapter"
            blocks.append(f"@node {title.replace('.', '')}\n@{kind} {_texi(title)}")
        else:
            blocks.append(_texi(block))
    source = "\n\n".join(
        [
            "\\input texinfo\n@setfilename gpl.info\n@settitle GNU Licence Manual",
            "@setchapternewpage odd\n@titlepage\n@title GNU Licence Manual\n@end titlepage",
            "@contents\n@node Top\n@top GNU Licence Manual",
            *blocks,
            "@bye\n",
        ]
    )
    texi = out.with_suffix(".texi")
    texi.write_text(source, encoding="utf-8")
    subprocess.run(
        ["texi2pdf", "--batch", "--quiet", "-o", str(out), str(texi)],
        cwd=out.parent,
        capture_output=True,
        check=True,
        timeout=300,
    )
    return out.read_bytes()


def _texi(text: str) -> str:
    return text.replace("@", "@@").replace("{", "@{").replace("}", "@}")
