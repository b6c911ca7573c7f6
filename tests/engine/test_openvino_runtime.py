"""OpenVINO's usage telemetry never runs: no ~/intel files, no event posted from a fork."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.test_startup import stamped_openvino

REPO = Path(__file__).resolve().parents[2]
RAGPREP = Path(sys.executable).with_name("ragprep")
# openvino-telemetry's "running in CI" checks: with any of them set it stays off by itself.
CI_MARKERS = ("CI", "TF_BUILD", "JENKINS_URL")
NO_POST = """
try:
    from openvino_telemetry.backend.backend_ga4 import GA4Backend
except ImportError:
    pass
else:
    GA4Backend.send = lambda self, message: None
"""


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CI_MARKERS}
    home.mkdir(parents=True, exist_ok=True)
    return env | {"HOME": str(home)}


def _telemetry_files(home: Path) -> list[str]:
    folder = home / "intel"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_an_ingest_on_openvino_leaves_no_telemetry_behind(
    tmp_path: Path, default_gguf: Path, default_ir: Path
) -> None:
    # The premise, shown on a plain import: OpenVINO counts itself in ~/intel and keeps a
    # client id there for the events it posts (the post itself, from a fork, is stubbed out
    # here: the files are written before it, and the test itself must not report anywhere).
    plain = tmp_path / "plain-home"
    code = f"{NO_POST}\nimport openvino"
    subprocess.run([sys.executable, "-c", code], env=_environment(plain), check=True, timeout=120)
    if not _telemetry_files(plain):
        pytest.skip("this OpenVINO starts no usage telemetry on import")
    assert "stats" in _telemetry_files(plain)

    models = stamped_openvino(tmp_path, default_gguf, default_ir)  # served by OpenVINO f32
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DATA / "docs" / "paris.txt", docs / "paris.txt")
    out = tmp_path / "out.jsonl"
    home = tmp_path / "home"
    argv = [RAGPREP, "ingest", docs, "-o", out, "--models-dir", models]
    argv += ["--storage-dir", tmp_path / "storage"]
    env = _environment(home) | {"RAGPREP_PREPARE_DEFAULT_MODEL": "false"}
    done = subprocess.run(
        [str(a) for a in argv], env=env, capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "openvino f32" in done.stderr  # the engine that imported OpenVINO
    assert [json.loads(line)["chunk_index"] for line in out.read_text().splitlines()]
    assert _telemetry_files(home) == []
