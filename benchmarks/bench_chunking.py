"""Chunking throughput on a few MB of real text, against a character-counting baseline.

Run from the repository root:

    python -m benchmarks.bench_chunking [--megabytes 3] [--capacity N ...] [--model PATH.gguf]
        [--cl100k]

By default it measures the default model's own tokenizer (llama.cpp), as /v1/chunks uses it;
--cl100k measures tiktoken's cl100k_base instead (the `"tokenizer": "cl100k_base"` option).

The corpus is distinct Debian copyright files (real prose, lists, odd layouts and many
languages' names) plus the test documents, so the numbers are not flattered by the splitter
re-seeing one cached text.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from semantic_text_splitter import TextSplitter

from app.chunking.splitter import default_capacity, split_text
from app.engine.base import Tokenizer
from app.engine.tiktoken_tokenizer import TiktokenTokenizer
from app.extract.text import is_markdown

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "models" / "all-MiniLM-L6-v2.gguf"
SOURCES = (
    *sorted(Path("/usr/share/doc").glob("*/copyright")),
    *sorted(Path("/usr/share/common-licenses").glob("*")),
    *sorted((ROOT / "tests" / "data" / "docs").glob("*.*")),
)
# cl100k and most model vocabularies average about four characters per token on English
# prose, so this gives the baseline chunks of roughly the same size.
CHARS_PER_TOKEN = 4
MB = 1_000_000


def load_corpus(megabytes: float = 3.0) -> list[tuple[str, str]]:
    """(name, text) pairs of distinct UTF-8 documents, about `megabytes` of them in total."""
    corpus: list[tuple[str, str]] = []
    seen: set[str] = set()
    size = 0
    for path in SOURCES:
        text = _read_text(path)
        if not text or text in seen:
            continue
        seen.add(text)
        corpus.append((path.name, text))
        size += len(text.encode())
        if size >= megabytes * MB:
            break
    return corpus


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _throughput(
    corpus: Sequence[tuple[str, str]], chunk: Callable[[str, str], int]
) -> dict[str, float]:
    size = sum(len(text.encode()) for _, text in corpus)
    started = time.perf_counter()
    chunks = sum(chunk(name, text) for name, text in corpus)
    seconds = time.perf_counter() - started
    return {"mb": size / MB, "chunks": chunks, "seconds": seconds, "mb_per_s": size / MB / seconds}


def run(
    tokenizer: Tokenizer,
    *,
    capacity: int | None = None,
    corpus: Sequence[tuple[str, str]] | None = None,
) -> dict[str, float]:
    """Time `split_text` with `tokenizer` and a char-counting splitter on the same corpus."""
    corpus = load_corpus() if corpus is None else corpus
    capacity = default_capacity(tokenizer) if capacity is None else capacity

    def with_tokenizer(name: str, text: str) -> int:
        chunks = split_text(
            text=text, model_tokenizer=tokenizer, capacity=capacity, markdown=is_markdown(name)
        )
        return len(chunks)

    baseline_splitter = TextSplitter(capacity * CHARS_PER_TOKEN)

    def baseline(_: str, text: str) -> int:
        return len(baseline_splitter.chunk_indices(text))

    measured = _throughput(corpus, with_tokenizer)
    base = _throughput(corpus, baseline)
    return {
        "documents": len(corpus),
        "capacity": capacity,
        **measured,
        "baseline_chunks": base["chunks"],
        "baseline_mb_per_s": base["mb_per_s"],
        "slowdown": base["mb_per_s"] / measured["mb_per_s"],
    }


def _tokenizer(model: Path, cl100k: bool) -> Tokenizer:
    if cl100k:
        return TiktokenTokenizer(window=512)
    from app.engine.llama import LlamaTokenizer  # here: --cl100k runs need no llama.cpp

    if not model.exists():
        sys.exit(f"{model} is missing: run `make model` (or pass --model PATH.gguf)")
    tokenizer: Tokenizer = LlamaTokenizer(model)
    return tokenizer


def _report(name: str, result: dict[str, float]) -> None:
    print(
        f"{name}: {result['documents']:.0f} documents, {result['mb']:.2f} MB, "
        f"capacity {result['capacity']:.0f} tokens"
    )
    print(f"  tokenizer: {result['mb_per_s']:6.2f} MB/s  ({result['chunks']:.0f} chunks)")
    print(
        f"  baseline:  {result['baseline_mb_per_s']:6.2f} MB/s  "
        f"({result['baseline_chunks']:.0f} chunks, {CHARS_PER_TOKEN} chars per token)"
    )
    print(f"  baseline is {result['slowdown']:.1f}x faster")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL, help="GGUF model whose tokenizer to measure"
    )
    parser.add_argument("--cl100k", action="store_true", help="measure tiktoken cl100k_base")
    parser.add_argument("--capacity", type=int, nargs="*", help="chunk capacities in tokens")
    parser.add_argument("--megabytes", type=float, default=3.0, help="corpus size")
    args = parser.parse_args(argv)

    tokenizer = _tokenizer(args.model, args.cl100k)
    corpus = load_corpus(args.megabytes)
    name = "tiktoken cl100k_base" if args.cl100k else args.model.name
    for capacity in args.capacity or [None]:
        _report(name, run(tokenizer, capacity=capacity, corpus=corpus))


if __name__ == "__main__":
    main()
