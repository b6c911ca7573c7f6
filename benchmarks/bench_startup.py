"""Start-up time: spawn of `ragprep serve` to /health 200, and a cached `ragprep ingest` re-run.

    python -m benchmarks.bench_startup [--runs 5]

Prints the median (and min/max) of several runs of each, on a prepared machine (the default
GGUF built and stamped: `make model`). Targets (issue 12): both within 1.5 s.
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


def time_to_health(storage: Path) -> float:
    port = free_port()
    command = [*_ragprep(), "serve", "--port", str(port), "--storage-dir", str(storage)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--models-dir", str(MODELS)],
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


def time_ingest(storage: Path, out: Path) -> float:
    command = [*_ragprep(), "ingest", str(DOCS), "-o", str(out), "--storage-dir", str(storage)]
    started = time.perf_counter()
    subprocess.run(
        [*command, "--models-dir", str(MODELS)],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ragprep-startup-") as tmp:
        root = Path(tmp)
        health = [time_to_health(root / "serve") for _ in range(args.runs)]
        time_ingest(root / "ingest", root / "cold.jsonl")  # cold: chunks and embeds everything
        cached = [time_ingest(root / "ingest", root / f"warm{i}.jsonl") for i in range(args.runs)]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} before the runs")
    print(summary("serve: spawn to /health 200", health))
    print(summary("ingest re-run (all cached)", cached))


if __name__ == "__main__":
    main()
