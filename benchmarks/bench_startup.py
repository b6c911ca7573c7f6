"""Start-up time: spawn of `ragprep serve` to /health 200, and a cached `ragprep ingest` re-run.

    python -m benchmarks.bench_startup [--runs 5] [--engines llama-cpp openvino]
        [--baseline PATH]

Prints the median (and min/max) of several runs of each, on a prepared machine (the default
GGUF built and stamped: `make model`). Targets (issue 12): both within 1.5 s. With --engines,
each engine is pinned in a models dir of its own (links to the prepared files) and the runs
alternate between them: what importing and compiling OpenVINO costs against llama.cpp. With
--baseline, the code of another checkout (e.g. `git worktree add /tmp/base main`) runs
alternately with this one, on the same models and venv (both as `python -m app.cli`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.live import MODELS, REPO, free_port, tls_context

DOCS = REPO / "tests" / "data" / "docs"


@dataclass(frozen=True)
class Variant:
    """What is started: the models dir, and the checkout whose code runs (None: this one,
    through the installed `ragprep` script)."""

    models: Path = MODELS
    code: Path | None = None

    def command(self) -> list[str]:
        script = Path(sys.executable).with_name("ragprep")
        if self.code is None and script.exists():
            return [str(script)]
        return [sys.executable, "-m", "app.cli"]  # from cwd: the checkout's own `app`

    @property
    def cwd(self) -> Path:
        return self.code or REPO


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RAGPREP_")}


def time_to_health(storage: Path, variant: Variant) -> float:
    """Seconds from spawn to the first 200 of /health, polled every 10 ms by one client made
    beforehand. (A new client per poll, `httpx.get`, built an SSL context each time: ~30 ms of
    CPU per poll on the two cores the server was starting on, 0.3 s of its measured start-up.)"""
    port = free_port()
    command = [*variant.command(), "serve", "--port", str(port), "--storage-dir", str(storage)]
    with httpx.Client(verify=tls_context(), timeout=1) as client:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*command, "--models-dir", str(variant.models)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(),
            cwd=variant.cwd,
        )
        try:
            while process.poll() is None:
                try:
                    if client.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.01)
            raise RuntimeError(f"ragprep serve exited with {process.returncode}")
        finally:
            process.terminate()
            process.wait(timeout=60)


def time_ingest(storage: Path, out: Path, variant: Variant) -> float:
    command = [*variant.command(), "ingest", str(DOCS), "-o", str(out)]
    started = time.perf_counter()
    subprocess.run(
        [*command, "--storage-dir", str(storage), "--models-dir", str(variant.models)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(),
        cwd=variant.cwd,
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


def variants(root: Path, engines: list[str], baseline: Path | None) -> dict[str, Variant]:
    if engines:
        return {e: Variant(models=pinned_models(root, e)) for e in engines}
    if baseline is None:
        return {"as prepared": Variant()}
    return {"this checkout": Variant(code=REPO), "baseline": Variant(code=baseline.resolve())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", nargs="*", default=[], help="e.g. llama-cpp openvino")
    parser.add_argument("--baseline", type=Path, help="another checkout to run alternately")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    health: dict[str, list[float]] = {}
    cached: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="ragprep-startup-") as tmp:
        root = Path(tmp)
        runs = variants(root, args.engines, args.baseline)
        for _ in range(args.runs):
            for name, variant in runs.items():
                storage = root / f"serve-{name}"
                health.setdefault(name, []).append(time_to_health(storage, variant))
        for name, variant in runs.items():
            # cold: chunks and embeds all
            time_ingest(root / f"ingest-{name}", root / "cold.jsonl", variant)
        for run in range(args.runs):
            for name, variant in runs.items():
                out = root / f"warm-{name}-{run}.jsonl"
                cached.setdefault(name, []).append(
                    time_ingest(root / f"ingest-{name}", out, variant)
                )
    after = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} before, {after:.2f} after")
    for name in runs:
        print(summary(f"serve ({name}): spawn to /health", health[name]))
        print(summary(f"ingest re-run ({name}, cached)", cached[name]))


if __name__ == "__main__":
    main()
