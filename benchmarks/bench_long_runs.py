"""Chunking text without break points (a run of "x", a one-line FASTA, digits joined by commas):
seconds per size, against the same splitter without the pre-cut of long runs (the quadratic
behaviour it replaced), in one process, interleaved, median of rounds.

Run from the repository root:

    python -m benchmarks.bench_long_runs [--kilobytes 50 100 200] [--rounds 3]

Linear chunking keeps seconds per 100 KB flat as the size grows; the baseline's grows with it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app.engine.base import Tokenizer
from app.engine.llama import LlamaTokenizer
from app.registry.prepare import prepare_default_model
from app.services import chunking
from benchmarks.bench_chunking import ROOT

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


def seconds(text: str, tokenizer: Tokenizer) -> float:
    start = time.perf_counter()
    chunking.split_text(text=text, model_tokenizer=tokenizer)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kilobytes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tokenizer = LlamaTokenizer(prepare_default_model(MODELS))
    print(f"{'text':8} {'KB':>5} {'linear s':>9} {'baseline s':>11} {'speed-up':>9}")
    for kind, make in KINDS.items():
        for kilobytes in args.kilobytes:
            text = make(kilobytes * 1000)
            new, old = [], []
            for _ in range(args.rounds):  # interleaved: noise hits both alike
                new.append(seconds(text, tokenizer))
                with without_pre_cut():
                    old.append(seconds(text, tokenizer))
            fast, slow = statistics.median(new), statistics.median(old)
            print(f"{kind:8} {kilobytes:5} {fast:9.2f} {slow:11.2f} {slow / fast:8.1f}x")


if __name__ == "__main__":
    main()
