"""A small corpus ingested once by the local engine: the reference other outputs and engines
are compared with."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from tests.conftest import DATA, MODELS

DOCS = DATA / "docs"


@dataclass(frozen=True)
class LocalRun:
    docs: Path
    storage: Path
    jsonl: Path

    def rows(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.jsonl.read_text().splitlines()]

    def storage_args(self) -> list[str]:
        return ["--storage-dir", str(self.storage), "--models-dir", str(MODELS)]


def small_corpus(root: Path) -> Path:
    """Markdown and text in nested folders, and files every engine must skip."""
    docs = root / "docs"
    (docs / "notes").mkdir(parents=True)
    shutil.copy(DOCS / "fastapi-readme.md", docs / "fastapi-readme.md")
    shutil.copy(DOCS / "paris.txt", docs / "notes" / "paris.txt")
    (docs / "notes" / "blank.txt").write_text("  \n\t\n")
    (docs / "logo.gif").write_bytes(b"GIF89a\x01\x00\x01\x00" + bytes(range(64)))
    return docs


@pytest.fixture(scope="session")
def local_run(tmp_path_factory: pytest.TempPathFactory, default_gguf: Path) -> LocalRun:
    root = tmp_path_factory.mktemp("local-run")
    run = LocalRun(small_corpus(root), root / "storage", root / "local.jsonl")
    assert main(["ingest", str(run.docs), "-o", str(run.jsonl), *run.storage_args()]) == 0
    return run
