"""Where the engine's time goes against raw OpenVINO on the same IR: one process, the texts of
bench_peers, every path timed on every round, paths interleaved (order alternating), medians.

    python -m benchmarks.bench_engine_shapes [--rounds 5] [--short 384] [--chunks 96] [--only S]

Paths: ragprep's engine as the service builds it (BatchEngine over OpenVinoEmbedders, budgets
512 and larger); its two OpenVinoEmbedders driven by two plain threads (the batcher left out);
raw OpenVINO on our own IR with an AsyncInferQueue, length-sorted batches of 8/16/32/64 rows or
of a token budget, padded to the longest row or to a multiple of 8, inputs copied or shared,
pooled in the graph or in NumPy, under the THROUGHPUT and LATENCY hints. Every path includes
tokenization, as bench_peers' timings do; tokenization alone (llama.cpp per text, HF
`tokenizers` batch encode) is timed beside them. Rates count real tokens with [CLS]/[SEP]
(bench_peers' count; padding never counted), and each path's padded tokens are reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.config import Settings
from app.engine.catalog import load_catalog
from app.engine.llama import LlamaTokenizer
from app.engine.openvino import OpenVinoEmbedder, OpenVinoModel, buckets
from app.registry.prepare import packaged_default_weights, prepare_default
from benchmarks.bench_embeddings import machine_line
from benchmarks.bench_peers import normalized, workloads
from benchmarks.live import MODELS

Matrix = npt.NDArray[np.float32]
Rows = list[list[int]]
Embed = Callable[[list[str]], Matrix]
Tokenize = Callable[[list[str]], Rows]


@dataclass
class Path_:
    name: str
    embed: Embed
    seconds: dict[str, list[float]] = field(default_factory=dict)
    padded: dict[str, int] = field(default_factory=dict)


class Padding:
    """Counts the padded tokens a path feeds OpenVINO (for the 'how was it counted' column)."""

    def __init__(self) -> None:
        self.tokens = 0


def llama_rows(tokenizer: LlamaTokenizer) -> Tokenize:
    prefix, suffix = list(tokenizer.prefix), list(tokenizer.suffix)
    return lambda texts: [[*prefix, *tokenizer.tokenize(t), *suffix] for t in texts]


def hf_rows() -> Tokenize:
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(packaged_default_weights() / "tokenizer.json"))
    hf.no_truncation()
    hf.no_padding()
    return lambda texts: [e.ids for e in hf.encode_batch(texts, add_special_tokens=True)]


def pad_rows(rows: Sequence[Sequence[int]], multiple: int) -> tuple[Any, Any]:
    width = -(-max(len(r) for r in rows) // multiple) * multiple
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


def fixed_groups(lengths: Sequence[int], size: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i : i + size] for i in range(0, len(order), size)]


def compile_ir(xml: Path, hint: str, streams: int, *, hidden: bool = False) -> Any:
    """Our IR compiled in bf16; `hidden`: cut before the pooling (last hidden state out)."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(xml))
    if hidden:
        divide = model.get_results()[0].input_value(0).get_node()
        weighted = divide.input_value(0).get_node().input_value(0).get_node()
        model = ov.Model([weighted.input_value(0)], model.get_parameters(), "hidden")
    config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "bf16", "PERFORMANCE_HINT": hint}
    if hint == "THROUGHPUT":
        config |= {"NUM_STREAMS": streams, "INFERENCE_NUM_THREADS": os.cpu_count() or 1}
    return core.compile_model(model, "CPU", config)


def compile_converted(hint: str) -> Any:
    """The HF model through `openvino.convert_model` (the issue's raw path; torch, bench extra),
    compiled as compile_ir compiles ours: its output is the last hidden state."""
    import openvino as ov
    import torch
    from transformers import AutoModel, AutoTokenizer

    source = str(packaged_default_weights())
    tokenizer, model = AutoTokenizer.from_pretrained(source), AutoModel.from_pretrained(source)
    example = dict(tokenizer(["an example input"], return_tensors="pt"))
    with torch.no_grad():
        converted = ov.convert_model(model.eval(), example_input=example)
    config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "bf16", "PERFORMANCE_HINT": hint}
    if hint == "THROUGHPUT":
        config |= {"NUM_STREAMS": 2, "INFERENCE_NUM_THREADS": os.cpu_count() or 1}
    return ov.Core().compile_model(converted, "CPU", config)


def raw_openvino(
    compiled: Any,
    tokenize: Tokenize,
    padding: Padding,
    *,
    group: Callable[[list[int]], list[list[int]]],
    jobs: int = 2,
    multiple: int = 1,
    share: bool = False,
    numpy_pool: bool = False,
) -> Embed:
    import openvino as ov

    queue = ov.AsyncInferQueue(compiled, jobs)
    segments = any("token_type_ids" in port.get_names() for port in compiled.inputs)

    def embed(texts: list[str]) -> Matrix:
        rows = tokenize(texts)
        out = np.empty((len(rows), 384), dtype=np.float32)

        def done(request: Any, job: tuple[list[int], Any, Any]) -> None:
            index, _, mask = job
            result = request.get_output_tensor(0).data
            if numpy_pool:
                weights = mask[..., None].astype(np.float32)
                result = (result * weights).sum(axis=1) / weights.sum(axis=1)
            out[index] = result

        queue.set_callback(done)
        for index in group([len(r) for r in rows]):
            ids, mask = pad_rows([rows[i] for i in index], multiple)
            padding.tokens += ids.size
            inputs = {"input_ids": ids, "attention_mask": mask}
            if segments:
                inputs["token_type_ids"] = np.zeros_like(ids)
            # Shared inputs are read while the request runs: the job keeps them alive till then.
            queue.start_async(inputs, (index, ids, mask), share_inputs=share)
        queue.wait_all()
        return out

    return embed


def engine_service(stack: ExitStack, tokenizer: LlamaTokenizer, budget: int) -> Embed:
    """The BatchEngine exactly as the server builds it (only batch_tokens varied)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            storage_dir=Path(tmp),
            models_dir=MODELS,
            prepare_default_model=False,
            batch_tokens=budget,
        )
        catalog = load_catalog(settings)
    stack.callback(catalog.stop)
    engine = catalog.get(None).engine

    def embed(texts: list[str]) -> Matrix:
        return asyncio.run(engine.embed([tokenizer.tokenize(t) for t in texts]))

    return embed


def embedders_bare(stack: ExitStack, tokenizer: LlamaTokenizer, xml: Path) -> Embed:
    """The service's two OpenVinoEmbedders on batches cut as the batcher cuts one request
    (shortest first, 512-token budget), fed by two plain threads: the queue left out."""
    model = OpenVinoModel(xml, precision="bf16", streams=2, threads_per_stream=1, cache_dir=None)
    stack.callback(model.close)
    embedders = [OpenVinoEmbedder(model, tokenizer=tokenizer, batch_tokens=512) for _ in "ab"]

    def embed(texts: list[str]) -> Matrix:
        sequences = [tokenizer.tokenize(t) for t in texts]
        costs = [len(s) + 2 for s in sequences]
        batches = iter(_budget_batches(costs, budget=512))
        out = np.empty((len(texts), 384), dtype=np.float32)
        lock = threading.Lock()

        def work(embedder: Any) -> None:
            while True:
                with lock:
                    batch = next(batches, None)
                if batch is None:
                    return
                out[batch] = embedder.embed_batch([sequences[i] for i in batch])

        threads = [threading.Thread(target=work, args=(e,)) for e in embedders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return out

    return embed


def _budget_batches(costs: Sequence[int], *, budget: int) -> list[list[int]]:
    batches: list[list[int]] = [[]]
    used = 0
    for index in sorted(range(len(costs)), key=costs.__getitem__):
        if batches[-1] and used + costs[index] > budget:
            batches.append([])
            used = 0
        batches[-1].append(index)
        used += costs[index]
    return batches


def build_paths(stack: ExitStack, tokenizer: LlamaTokenizer, xml: Path) -> list[Path_]:
    llama, hf = llama_rows(tokenizer), hf_rows()
    tput, latency = compile_ir(xml, "THROUGHPUT", 2), compile_ir(xml, "LATENCY", 1)
    hidden = compile_ir(xml, "THROUGHPUT", 2, hidden=True)
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
        path = Path_(name, raw_openvino(compiled, tokenize, padding, **options))
        _PADDINGS[name] = padding
        paths.append(path)

    for size in (8, 16, 32, 64):
        raw(f"raw THROUGHPUT 2x1, batch {size}", tput, llama, group=_fixed(size))
    raw("raw, batch 32, HF tokenizers", tput, hf, group=_fixed(32))
    raw("raw, batch 32, shared inputs", tput, llama, group=_fixed(32), share=True)
    raw("raw, batch 32, pad to x8", tput, llama, group=_fixed(32), multiple=8)
    raw("raw, batch 32, NumPy pooling", hidden, llama, group=_fixed(32), numpy_pool=True)
    raw("raw LATENCY 1x2, batch 32, 1 job", latency, llama, group=_fixed(32), jobs=1)
    raw("raw LATENCY 1x2, batch 32, 2 jobs", latency, llama, group=_fixed(32))
    for budget in (512, 2048):
        raw(f"raw, engine's buckets, budget {budget}", tput, llama, group=_buckets(budget))
    converted = compile_converted("THROUGHPUT")
    for size in (16, 32):
        options = {"group": _fixed(size), "numpy_pool": True}
        raw(f"raw convert_model graph, batch {size}", converted, hf, **options)
    return paths


_PADDINGS: dict[str, Padding] = {}


def _fixed(size: int) -> Callable[[list[int]], list[list[int]]]:
    return lambda lengths: fixed_groups(lengths, size)


def _buckets(budget: int) -> Callable[[list[int]], list[list[int]]]:
    return lambda lengths: buckets(lengths, budget=budget)


# MiniLM-L6's multiply-adds per token outside attention: 6 layers of Q, K, V, output (384x384)
# and the feed-forward pair (384x1536, 1536x384). Attention adds ~3% at 60 tokens.
FLOP_PER_TOKEN = 2 * 6 * (4 * 384 * 384 + 2 * 384 * 1536)


def matmul_ceiling(rounds: int, rows: int = 2048) -> None:
    """The CPU's bf16 rate on MiniLM's feed-forward matmuls alone (6 layers, `rows` tokens per
    request, 2 streams x 1 thread, 2 async requests): the most any MiniLM engine could reach."""
    import openvino as ov
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    x = ops.parameter([-1, 384], ov.Type.f32, name="x")
    y = x
    for _ in range(6):
        up = ops.constant(rng.standard_normal((384, 1536)).astype(np.float32) * 0.05)
        down = ops.constant(rng.standard_normal((1536, 384)).astype(np.float32) * 0.05)
        y = ops.matmul(ops.matmul(y, up, False, False), down, False, False)
    config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "bf16", "PERFORMANCE_HINT": "THROUGHPUT"}
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
        f"bf16 matmul ceiling: {flops / 1e9:,.0f} GFLOP/s, i.e. at most "
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
                padding = _PADDINGS.get(path.name)
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
