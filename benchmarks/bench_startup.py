"""Start-up time: spawn of `ragprep serve` to /health 200, and a cached `ragprep ingest` re-run.

    python -m benchmarks.bench_startup [--runs 5] [--engines llama-cpp openvino]

Prints the median (and min/max) of several runs of each, on a prepared machine (the default
GGUF built and stamped: `make model`). Targets (issue 12): both within 1.5 s. With --engines,
each engine is pinned in a models dir of its own (links to the prepared files) and the runs
alternate between them: what importing and compiling OpenVINO costs against llama.cpp.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.live import MODELS, REPO, free_port

DOCS = REPO / "tests" / "data" / "docs"


def _ragprep() -> list[str]:
    script = Path(sys.executable).with_name("ragprep")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RAGPREP_")}


def time_to_health(storage: Path, models: Path = MODELS) -> float:
    port = free_port()
    command = [*_ragprep(), "serve", "--port", str(port), "--storage-dir", str(storage)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--models-dir", str(models)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
        cwd=REPO,
    )
    try:
        while process.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"ragprep serve exited with {process.returncode}")
    finally:
        process.terminate()
        process.wait(timeout=60)


def time_ingest(storage: Path, out: Path, models: Path = MODELS) -> float:
    command = [*_ragprep(), "ingest", str(DOCS), "-o", str(out), "--storage-dir", str(storage)]
    started = time.perf_counter()
    subprocess.run(
        [*command, "--models-dir", str(models)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
        cwd=REPO,
    )
    return time.perf_counter() - started


def summary(name: str, seconds: list[float]) -> str:
    return (
        f"{name:<32} median {statistics.median(seconds):5.2f} s  "
        f"(min {min(seconds):.2f}, max {max(seconds):.2f}, {len(seconds)} runs; target <= 1.5 s)"
    )


def pinned_models(root: Path, backend: str) -> Path:
    """A models dir serving the prepared default with `backend` pinned (files linked)."""
    models = root / f"models-{backend}"
    models.mkdir()
    for path in MODELS.iterdir():
        if path.suffix in (".gguf", ".xml", ".bin") or path.name.endswith(".stamp.json"):
            (models / path.name).symlink_to(path)
    config = (MODELS / "all-MiniLM-L6-v2.yaml").read_text(encoding="utf-8")
    pinned = config.replace("backend: sentencetransformers", f"backend: {backend}")
    (models / "all-MiniLM-L6-v2.yaml").write_text(pinned, encoding="utf-8")
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", nargs="*", default=[], help="e.g. llama-cpp openvino")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    health: dict[str, list[float]] = {}
    cached: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="ragprep-startup-") as tmp:
        root = Path(tmp)
        dirs = {e: pinned_models(root, e) for e in args.engines} or {"as prepared": MODELS}
        for _ in range(args.runs):
            for name, models in dirs.items():
                storage = root / f"serve-{name}"
                health.setdefault(name, []).append(time_to_health(storage, models))
        for name, models in dirs.items():
            storage = root / f"ingest-{name}"
            time_ingest(storage, root / "cold.jsonl", models)  # cold: chunks and embeds all
        for run in range(args.runs):
            for name, models in dirs.items():
                out = root / f"warm-{name}-{run}.jsonl"
                cached.setdefault(name, []).append(
                    time_ingest(root / f"ingest-{name}", out, models)
                )
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} before the runs")
    for name in dirs:
        print(summary(f"serve ({name}): spawn to /health", health[name]))
        print(summary(f"ingest re-run ({name}, cached)", cached[name]))


if __name__ == "__main__":
    main()
