"""`ragprep ingest` without --server calls the services in its own process, not the web app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import MODELS, cosine
from tests.ingest.conftest import LocalRun

# Runs the command, then reports which of the web stack's modules it loaded.
PROBE = """
import json, sys
from app.cli import main
code = main(sys.argv[1:])
web = sorted(m for m in ("fastapi", "starlette", "app.main", "app.api") if m in sys.modules)
print(json.dumps({"code": code, "web": web}))
"""


def test_a_local_run_loads_no_web_stack_and_writes_what_the_reference_run_wrote(
    local_run: LocalRun, tmp_path: Path
) -> None:
    out = tmp_path / "again.jsonl"
    storage = tmp_path / "storage"
    args = ["ingest", str(local_run.docs), "-o", str(out), "--storage-dir", str(storage)]
    args += ["--models-dir", str(MODELS)]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "web": []}
    ours = [json.loads(line) for line in out.read_text().splitlines()]
    reference = local_run.rows()
    assert len(ours) == len(reference) > 3
    # New storage, so new file ids; the chunks and their provenance are the same, and the
    # vectors the same up to the engine's batch composition.
    kept = ("filename", "path", "chunk_index", "start", "end", "tokens", "pages", "headings")
    for row, expected in zip(ours, reference, strict=True):
        assert row["file_id"].startswith("file_")
        assert {k: row[k] for k in kept} == {k: expected[k] for k in kept}
        assert cosine(row["embedding"], expected["embedding"]) > 0.9999
