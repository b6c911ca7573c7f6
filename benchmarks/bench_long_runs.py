"""Chunking text without break points (a run of "x", a one-line FASTA, digits joined by commas):
seconds per size, against the same splitter without the pre-cut of long runs (the quadratic
behaviour it replaced), in one process, interleaved, median of rounds.

Then a long line of words ("lorem ipsum dolor sit amet " repeated, no newline, no full stop) at
1, 2, 4 and 8 MB: in-process seconds against the splitter without the segment bound (the
baseline only at the sizes in --baseline-megabytes: 8 MB took 99 s), and through a live
`ragprep serve`, POST /v1/chunks timed while /health is sampled every 20 ms (its max must stay
under 100 ms).

Run from the repository root:

    python -m benchmarks.bench_long_runs [--kilobytes 50 100 200] [--megabytes 1 2 4 8]
        [--baseline-megabytes 1 2] [--rounds 3]

Linear chunking keeps seconds per 100 KB (per MB) flat as the size grows; the baseline's grows.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.chunking import splitter as chunking
from app.engine.base import Tokenizer
from app.engine.llama import LlamaTokenizer
from app.registry.prepare import prepare_default_model
from benchmarks.bench_chunking import ROOT
from benchmarks.live import live_server

MODELS = ROOT / "models"

KINDS: dict[str, Callable[[int], str]] = {
    "x": lambda size: "x" * size,
    "fasta": lambda size: "".join(random.Random(1).choice("ACGT") for _ in range(size)),
    "digits": lambda size: "1," * (size // 2),
}


@contextmanager
def without_pre_cut() -> Iterator[None]:
    saved = chunking._MIN_RUN_CHARS
    chunking._MIN_RUN_CHARS = 1 << 30  # no run is ever long enough to be cut
    try:
        yield
    finally:
        chunking._MIN_RUN_CHARS = saved


WORDS = "lorem ipsum dolor sit amet "


def long_line(megabytes: int) -> str:
    return WORDS * (megabytes * 1_000_000 // len(WORDS))


@contextmanager
def without_segment_bound() -> Iterator[None]:
    saved = chunking._MIN_SEGMENT_CHARS
    chunking._MIN_SEGMENT_CHARS = 1 << 40  # every text is one segment, as before issue 24
    try:
        yield
    finally:
        chunking._MIN_SEGMENT_CHARS = saved


def seconds(text: str, tokenizer: Tokenizer) -> float:
    start = time.perf_counter()
    chunking.split_text(text=text, model_tokenizer=tokenizer)
    return time.perf_counter() - start


def words_in_process(
    tokenizer: Tokenizer, sizes: list[int], baseline: list[int], rounds: int
) -> None:
    print(f"\n{'words MB':8} {'linear s':>9} {'s per MB':>9} {'baseline s':>11}")
    for megabytes in sizes:
        text = long_line(megabytes)
        new, old = [], []
        for _ in range(rounds):  # interleaved: noise hits both alike
            new.append(seconds(text, tokenizer))
            if megabytes in baseline:
                with without_segment_bound():
                    old.append(seconds(text, tokenizer))
        fast = statistics.median(new)
        slow = f"{statistics.median(old):11.2f}" if old else f"{'-':>11}"
        print(f"{megabytes:8} {fast:9.2f} {fast / megabytes:9.2f} {slow}")


class HealthSampler:
    """GET /health every 20 ms on its own thread (its own connection) until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                client.get("/health").raise_for_status()
                self.latencies.append(time.perf_counter() - started)
                self._stop.wait(0.02)


def words_live(sizes: list[int], rounds: int) -> None:
    header = f"{'/health n':>10} {'median ms':>10} {'max ms':>7}"
    print(f"\n{'live MB':8} {'chunks s':>9} {'s per MB':>9} {header}")
    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp) / "storage") as server:
        ids = {}
        for megabytes in sizes:
            data = long_line(megabytes).encode()
            upload = httpx.post(
                f"{server.url}/v1/files", files={"file": (f"{megabytes}.txt", data)}, timeout=60
            )
            ids[megabytes] = upload.raise_for_status().json()["id"]
        for megabytes in sizes:
            took, health = [], []
            for capacity in range(500, 500 - rounds, -1):  # a new chunk set each round
                body = {"id": ids[megabytes], "chunk_capacity": capacity}
                with HealthSampler(server.url) as sampler:
                    started = time.perf_counter()
                    httpx.post(f"{server.url}/v1/chunks", json=body, timeout=600).raise_for_status()
                    took.append(time.perf_counter() - started)
                health.extend(sampler.latencies)
            median = statistics.median(took)
            print(
                f"{megabytes:8} {median:9.2f} {median / megabytes:9.2f} {len(health):10} "
                f"{statistics.median(health) * 1000:10.1f} {max(health) * 1000:7.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kilobytes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--megabytes", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--baseline-megabytes", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tokenizer = LlamaTokenizer(prepare_default_model(MODELS))
    runs(tokenizer, args.kilobytes, args.rounds)
    words_in_process(tokenizer, args.megabytes, args.baseline_megabytes, args.rounds)
    words_live(args.megabytes, args.rounds)


def runs(tokenizer: Tokenizer, sizes: list[int], rounds: int) -> None:
    print(f"{'text':8} {'KB':>5} {'linear s':>9} {'baseline s':>11} {'speed-up':>9}")
    for kind, make in KINDS.items():
        for kilobytes in sizes:
            text = make(kilobytes * 1000)
            new, old = [], []
            for _ in range(rounds):  # interleaved: noise hits both alike
                new.append(seconds(text, tokenizer))
                with without_pre_cut():
                    old.append(seconds(text, tokenizer))
            fast, slow = statistics.median(new), statistics.median(old)
            print(f"{kind:8} {kilobytes:5} {fast:9.2f} {slow:11.2f} {slow / fast:8.1f}x")


if __name__ == "__main__":
    main()
