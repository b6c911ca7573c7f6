"""A second BEIR-format collection of real documents, held out from the choice of fusion: the
sections of the package READMEs installed in this venv (their METADATA long descriptions).
Each `##`/`###` section whose title has at least three words and is unique is a query whose
one relevant document is its body; sections with shared titles are distractors.

    python -m tests.benchmarks.readme_beir OUT_DIR   # then bench_retrieval --beir OUT_DIR
"""

from __future__ import annotations

import json
import re
import sys
import sysconfig
from pathlib import Path

HEADING = re.compile(r"^#{2,3} (.+)$")
MIN_WORDS = 30
MAX_CHARS = 6000


def _sections(metadata: Path) -> list[tuple[str, str]]:
    text = metadata.read_text(errors="replace").split("\n\n", 1)[-1]
    found: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        heading = HEADING.match(line)
        if heading:
            found.append((heading.group(1).strip(), []))
        elif found:
            found[-1][1].append(line)
    bodies = [(title, " ".join(" ".join(lines).split())) for title, lines in found]
    return [
        (title, body)
        for title, body in bodies
        if len(body.split()) >= MIN_WORDS and len(title.split()) >= 3
    ]


def write_collection(folder: Path, site_packages: Path) -> int:
    by_title: dict[str, list[tuple[str, str]]] = {}
    for metadata in sorted(site_packages.glob("*.dist-info/METADATA")):
        for title, body in _sections(metadata):
            by_title.setdefault(title.lower(), []).append((title, body))
    corpus: list[dict[str, str]] = []
    queries: list[dict[str, str]] = []
    qrels = ["query-id\tcorpus-id\tscore"]
    for items in by_title.values():
        for title, body in items:
            doc_id = f"d{len(corpus) + 1}"
            corpus.append({"_id": doc_id, "title": "", "text": body[:MAX_CHARS]})
            if len(items) == 1:
                queries.append({"_id": f"q-{doc_id}", "text": title})
                qrels.append(f"q-{doc_id}\t{doc_id}\t1")
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus) + "\n")
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    return len(queries)


if __name__ == "__main__":
    count = write_collection(Path(sys.argv[1]), Path(sysconfig.get_paths()["purelib"]))
    print(f"{count} queries written to {sys.argv[1]}")
