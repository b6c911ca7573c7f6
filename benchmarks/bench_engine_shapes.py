"""Where the engine's time goes against raw OpenVINO on the same IR: one process, the texts of
bench_peers, every path timed on every round, paths interleaved (order alternating), medians.

    python -m benchmarks.bench_engine_shapes [--rounds 5] [--short 384] [--chunks 96]
        [--only NAME ...] [--ceiling]

Paths (benchmarks/engine_paths.py): ragprep's engine as the service builds it (BatchEngine over
OpenVinoEmbedders, budgets 512 and larger); its two OpenVinoEmbedders driven by two plain
threads (the batcher left out); raw OpenVINO on our own IR with an AsyncInferQueue, length-
sorted batches of 8/16/32/64 rows or of a token budget, padded to the longest row or to a
multiple of 8, inputs copied or shared, pooled in the graph or in NumPy, under the THROUGHPUT
and LATENCY hints, threads pinned to cores or not; raw OpenVINO on the `convert_model` graph
(the issue's path; needs the bench extra). Every path includes tokenization, as bench_peers'
timings do; tokenization alone (llama.cpp per text, HF `tokenizers` batch encode) is timed
beside them. Rates count real tokens with [CLS]/[SEP] (bench_peers' count; padding never
counted); each raw path's padded tokens are reported too. --ceiling times only the CPU's matmul
rate on MiniLM's shapes, in each precision OpenVINO offers here: the most any engine could reach.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.engine.llama import LlamaTokenizer
from app.engine.openvino import offered_precisions
from app.engine.openvino_runtime import openvino_module
from app.registry.prepare import prepare_default
from benchmarks.bench_embeddings import machine_line
from benchmarks.bench_peers import normalized, workloads
from benchmarks.engine_paths import (
    Embed,
    Padding,
    Tokenize,
    budgeted,
    compile_converted,
    compile_ir,
    embedders_bare,
    engine_service,
    fixed,
    hf_rows,
    llama_rows,
    raw_openvino,
)
from benchmarks.live import MODELS


@dataclass
class Path_:
    name: str
    embed: Embed
    seconds: dict[str, list[float]] = field(default_factory=dict)
    padding: Padding | None = None  # counts what a raw path feeds OpenVINO, padding included
    padded: dict[str, int] = field(default_factory=dict)


def build_paths(stack: ExitStack, tokenizer: LlamaTokenizer, xml: Path) -> list[Path_]:
    llama, hf = llama_rows(tokenizer), hf_rows()
    tput, latency = compile_ir(xml, "THROUGHPUT", 2), compile_ir(xml, "LATENCY", 1)
    hidden = compile_ir(xml, "THROUGHPUT", 2, hidden=True)
    unpinned = compile_ir(xml, "THROUGHPUT", 2, pinned=False)
    paths = [
        Path_("engine (service: BatchEngine, budget 512)", engine_service(stack, tokenizer, 512))
    ]
    for budget in (1024, 2048, 4096):
        paths.append(Path_(f"engine, budget {budget}", engine_service(stack, tokenizer, budget)))
    paths.append(
        Path_("engine's 2 embedders, plain threads, 512", embedders_bare(stack, tokenizer, xml))
    )

    def raw(name: str, compiled: Any, tokenize: Tokenize, **options: Any) -> None:
        padding = Padding()
        paths.append(
            Path_(name, raw_openvino(compiled, tokenize, padding, **options), padding=padding)
        )

    for size in (8, 16, 32, 64):
        raw(f"raw THROUGHPUT 2x1, batch {size}", tput, llama, group=fixed(size))
    raw("raw, batch 32, HF tokenizers", tput, hf, group=fixed(32))
    raw("raw, batch 32, shared inputs", tput, llama, group=fixed(32), share=True)
    raw("raw, batch 32, pad to x8", tput, llama, group=fixed(32), multiple=8)
    raw("raw, batch 32, NumPy pooling", hidden, llama, group=fixed(32), numpy_pool=True)
    raw("raw LATENCY 1x2, batch 32, 1 job", latency, llama, group=fixed(32), jobs=1)
    raw("raw LATENCY 1x2, batch 32, 2 jobs", latency, llama, group=fixed(32))
    for budget in (512, 2048):
        raw(f"raw, engine's buckets, budget {budget}", tput, llama, group=budgeted(budget))
        raw(
            f"raw, engine's buckets, budget {budget}, unpinned",
            unpinned,
            llama,
            group=budgeted(budget),
        )
    converted = compile_converted("THROUGHPUT")
    for size in (16, 32):
        options = {"group": fixed(size), "numpy_pool": True}
        raw(f"raw convert_model graph, batch {size}", converted, hf, **options)
    return paths


# MiniLM-L6's multiply-adds per token outside attention: 6 layers of Q, K, V, output (384x384)
# and the feed-forward pair (384x1536, 1536x384). Attention adds ~3% at 60 tokens.
FLOP_PER_TOKEN = 2 * 6 * (4 * 384 * 384 + 2 * 384 * 1536)


def matmul_ceiling(rounds: int, rows: int = 2048) -> None:
    """The CPU's rate on MiniLM's feed-forward matmuls alone (6 layers, `rows` tokens per
    request, 2 streams x 1 thread, 2 async requests) in each precision OpenVINO offers here
    (bf16 only where the CPU multiplies it natively): the most any MiniLM engine could reach."""
    for precision in offered_precisions():
        matmul_rate(precision, rounds, rows)


def matmul_rate(precision: str, rounds: int, rows: int) -> None:
    """Prints the matmul rate in one precision, and the MiniLM token rate it would allow."""
    ov = openvino_module()
    ops = ov.opset13

    rng = np.random.default_rng(0)
    x = ops.parameter([-1, 384], ov.Type.f32, name="x")
    y = x
    for _ in range(6):
        up = ops.constant(rng.standard_normal((384, 1536)).astype(np.float32) * 0.05)
        down = ops.constant(rng.standard_normal((1536, 384)).astype(np.float32) * 0.05)
        y = ops.matmul(ops.matmul(y, up, False, False), down, False, False)
    config: dict[str, Any] = {
        "INFERENCE_PRECISION_HINT": precision,
        "PERFORMANCE_HINT": "THROUGHPUT",
    }
    config |= {"NUM_STREAMS": 2, "INFERENCE_NUM_THREADS": os.cpu_count() or 1}
    compiled = ov.Core().compile_model(ov.Model([y], [x]), "CPU", config)
    queue = ov.AsyncInferQueue(compiled, 2)
    data = rng.standard_normal((rows, 384)).astype(np.float32)
    seconds = []
    for _ in range(rounds + 1):  # the first round warms up
        started = time.perf_counter()
        for _ in range(16):
            queue.start_async({"x": data})
        queue.wait_all()
        seconds.append(time.perf_counter() - started)
    flops = 16 * rows * 2 * 6 * (2 * 384 * 1536) / statistics.median(seconds[1:])
    print(
        f"{precision} matmul ceiling: {flops / 1e9:,.0f} GFLOP/s, i.e. at most "
        f"{flops / FLOP_PER_TOKEN:,.0f} MiniLM tokens/s if attention, norms and GELU were free"
    )


def time_tokenizers(tokenizer: LlamaTokenizer, texts: list[str], rounds: int) -> None:
    llama, hf = llama_rows(tokenizer), hf_rows()
    same = sum(a == b for a, b in zip(llama(texts), hf(texts), strict=True))
    for name, tokenize in (("llama.cpp per text", llama), ("HF tokenizers batch", hf)):
        seconds = []
        for _ in range(rounds):
            started = time.perf_counter()
            tokenize(texts)
            seconds.append(time.perf_counter() - started)
        per_text = statistics.median(seconds) / len(texts) * 1e6
        print(f"  tokenize, {name}: {per_text:.1f} us per text")
    print(f"  ids identical for {same}/{len(texts)} texts")


def run(paths: list[Path_], work: dict[str, Any], rounds: int) -> dict[tuple[str, str], Any]:
    for workload in work.values():
        for path in paths:
            path.embed(workload.texts[:8])
    first: dict[tuple[str, str], Any] = {}
    for round_ in range(rounds):
        for name, workload in work.items():
            for path in paths if round_ % 2 == 0 else list(reversed(paths)):
                padding = path.padding
                before = padding.tokens if padding else 0
                started = time.perf_counter()
                vectors = path.embed(workload.texts)
                path.seconds.setdefault(name, []).append(time.perf_counter() - started)
                if padding:
                    path.padded[name] = padding.tokens - before
                if round_ == 0:
                    first[path.name, name] = normalized(vectors)
        print(f"round {round_ + 1}/{rounds} done", file=sys.stderr, flush=True)
    return first


def report(paths: list[Path_], work: dict[str, Any], first: dict[tuple[str, str], Any]) -> None:
    base = paths[0]
    print("| path | workload | tok/s | vs engine | padded tokens | min cosine vs engine |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, workload in work.items():
        tokens = workload.total_tokens
        engine_rate = tokens / statistics.median(base.seconds[name])
        for path in paths:
            rate = tokens / statistics.median(path.seconds[name])
            cosine = float(np.min(np.sum(first[path.name, name] * first[base.name, name], 1)))
            padded = path.padded.get(name)
            shown = f"{padded:,} ({padded / tokens:.2f}x)" if padded else "-"
            print(
                f"| {path.name} | {name}, {tokens:,} tokens | {rate:,.0f} "
                f"| {rate / engine_rate:.2f}x | {shown} | {cosine:.6f} |"
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--short", type=int, default=384)
    parser.add_argument("--chunks", type=int, default=96)
    parser.add_argument("--ceiling", action="store_true", help="only the matmul ceiling")
    parser.add_argument("--only", nargs="*", default=[""], help="keep paths naming any of these")
    args = parser.parse_args(argv)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.ceiling:
        matmul_ceiling(args.rounds)
        print(machine_line(1, load_before))
        return
    prepared = prepare_default(MODELS)
    tokenizer = LlamaTokenizer(prepared.path)
    work = workloads(tokenizer, args.short, args.chunks)
    with ExitStack() as stack:
        paths = build_paths(stack, tokenizer, prepared.path.with_suffix(".xml"))
        paths = [paths[0], *(p for p in paths[1:] if any(o in p.name for o in args.only))]
        first = run(paths, work, args.rounds)
        print(f"\nmedian of {args.rounds} rounds, paths interleaved; real tokens with [CLS]/[SEP]")
        report(paths, work, first)
        for name, workload in work.items():
            print(f"{name}:")
            time_tokenizers(tokenizer, workload.texts, args.rounds)
    print(machine_line(1, load_before))


if __name__ == "__main__":
    main()
