"""A small BEIR-format collection made at test time from real documents: the licence texts
Debian ships (/usr/share/common-licenses). Each numbered section's title is a query whose one
relevant document is that section's body (title removed); the sections of other licences are
distractors without queries."""

from __future__ import annotations

import json
import re
from pathlib import Path

LICENCES = Path("/usr/share/common-licenses")
# Licences whose numbered lines are section titles (queries); in the others the number starts
# the section's first sentence, so they serve only as distractors.
WITH_TITLES = ("GPL-3", "MPL-2.0", "GFDL-1.3")
DISTRACTORS = ("Apache-2.0", "LGPL-2.1", "GPL-2")
HEADING = re.compile(r"^\s{0,4}(\d+(?:\.\d+)*)\.\s+(\S.{2,70})$")
MIN_WORDS = 30


def sections(name: str) -> list[tuple[str, str]]:
    """(title, body) of each numbered section of at least MIN_WORDS words."""
    found: list[tuple[str, list[str]]] = []
    for line in (LICENCES / name).read_text(encoding="utf-8").splitlines():
        heading = HEADING.match(line)
        if heading and len(line.strip()) < 75:
            found.append((heading.group(2).strip().strip(".").strip('"'), []))
        elif found:
            found[-1][1].append(line.strip())
    bodies = [(title, " ".join(" ".join(lines).split())) for title, lines in found]
    return [(title, body) for title, body in bodies if len(body.split()) >= MIN_WORDS]


def write_collection(folder: Path) -> int:
    """Write corpus.jsonl, queries.jsonl and qrels/test.tsv; returns the number of queries."""
    corpus: list[dict[str, str]] = []
    queries: list[dict[str, str]] = []
    qrels: list[str] = ["query-id\tcorpus-id\tscore"]
    for name in WITH_TITLES + DISTRACTORS:
        for n, (title, body) in enumerate(sections(name)):
            doc_id = f"{name}-{n}"
            corpus.append({"_id": doc_id, "title": "", "text": body})
            if name in WITH_TITLES:
                queries.append({"_id": f"q-{doc_id}", "text": title})
                qrels.append(f"q-{doc_id}\t{doc_id}\t1")
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus) + "\n")
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    return len(queries)


if __name__ == "__main__":  # python -m tests.benchmarks.licence_beir OUT_DIR
    import sys

    print(f"{write_collection(Path(sys.argv[1]))} queries written to {sys.argv[1]}")
