"""Would int8 weights (and OpenVINO's dynamic int8 activations) make the engine faster while
keeping the fidelity contract? One process, MiniLM built from the packaged safetensors.

    python -m benchmarks.bench_int8 [--rounds 3] [--short 384] [--chunks 96]

Paths, each one compiled model with one infer request on one thread (as `models prepare` times
its candidates), fed the engine's length buckets, interleaved, medians; rates count real tokens
with [CLS]/[SEP], tokenization included:
- the engine's graph (f32 weights) in bf16, as served today: the baseline;
- the same graph with every linear layer's weights in int8, symmetric, one scale per output row
  or per group of 32 inputs, decompressed inside the graph (the pattern OpenVINO's CPU plugin
  runs as a compressed FullyConnected), compiled in bf16 with DYNAMIC_QUANTIZATION_GROUP_SIZE 0
  (weights only) or 32 / 64 (activations quantized to int8 per group of inputs, on the fly).
Fidelity is the worst cosine against the packaged sentence-transformers reference vectors; the
contract for a served engine is >= 0.9999.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from app.engine.llama import LlamaTokenizer
from app.engine.openvino import buckets, pad
from app.engine.openvino_runtime import openvino_module
from app.registry import openvino_ir
from app.registry.prepare import packaged_default_weights, prepare_default
from app.registry.weight_type import load_reference, worst_cosine
from benchmarks.bench_embeddings import machine_line
from benchmarks.bench_peers import workloads
from benchmarks.live import MODELS


class _Int8Graph(openvino_ir._Graph):
    """The engine's graph with int8 linear weights, `group` inputs per scale (0: one per row)."""

    def __init__(self, weights: openvino_ir.Weights, *, heads: int, eps: float, group: int):
        super().__init__(weights, heads=heads, eps=eps)
        self.group = group

    def dense(self, x: Any, prefix: str) -> Any:
        ov = openvino_module()

        ops = self.ops
        weight = self.w[f"{prefix}.weight"]  # [out, in]
        rows, cols = weight.shape
        group = self.group or cols
        grouped = weight.reshape(rows, cols // group, group)
        scale = np.abs(grouped).max(axis=2, keepdims=True) / 127.0
        scale[scale == 0] = 1.0
        quantized = np.clip(np.round(grouped / scale), -127, 127).astype(np.int8)
        decompressed = ops.multiply(
            ops.convert(ops.constant(quantized), ov.Type.f32),
            ops.constant(scale.astype(np.float32)),
        )
        shape = ops.constant(np.array([rows, cols], dtype=np.int64))
        product = ops.matmul(x, ops.reshape(decompressed, shape, False), False, True)
        return ops.add(product, self.const(f"{prefix}.bias"))


def int8_model(group: int) -> Any:
    """The default model as openvino_ir.build_model builds it, with int8 linear weights."""
    graph_type = functools.partial(_Int8Graph, group=group)
    return openvino_ir.build_model(packaged_default_weights(), graph_type)


@dataclass
class Path_:
    name: str
    request: Any
    seconds: dict[str, list[float]] = field(default_factory=dict)
    cosine: float = 0.0


def compiled_request(model: Any, dynamic_group: int) -> Any:
    ov = openvino_module()

    config = {
        "INFERENCE_PRECISION_HINT": "bf16",
        "NUM_STREAMS": 1,
        "INFERENCE_NUM_THREADS": 1,
        "PERFORMANCE_HINT": "THROUGHPUT",
        "DYNAMIC_QUANTIZATION_GROUP_SIZE": dynamic_group,
    }
    return ov.Core().compile_model(model, "CPU", config).create_infer_request()


def embed(request: Any, tokenizer: LlamaTokenizer, texts: Sequence[str]) -> npt.NDArray[Any]:
    """The engine's way: tokenized, [CLS]/[SEP] added, length buckets of 512 tokens."""
    rows = [[*tokenizer.prefix, *tokenizer.tokenize(t), *tokenizer.suffix] for t in texts]
    out = np.empty((len(rows), 384), dtype=np.float32)
    for bucket in buckets([len(r) for r in rows], budget=512):
        ids, mask = pad([rows[i] for i in bucket])
        out[bucket] = request.infer({"input_ids": ids, "attention_mask": mask})[0]
    return out


def build_paths() -> list[Path_]:
    paths = [Path_("engine graph, f32 weights, bf16 (served)", None)]
    paths[0].request = compiled_request(openvino_ir.build_model(packaged_default_weights()), 0)
    for group, label in ((0, "per row"), (32, "per 32 inputs")):
        model = int8_model(group)
        for dynamic in (0, 32, 64):
            activations = "bf16" if dynamic == 0 else f"int8 per {dynamic}"
            name = f"int8 weights {label}, activations {activations}"
            paths.append(Path_(name, compiled_request(model, dynamic)))
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    compare(build_paths, (__doc__ or "").splitlines()[0], argv)


def compare(build: Callable[[], list[Path_]], description: str, argv: Sequence[str] | None) -> None:
    """Time `build()`'s paths (the first is the baseline) on bench_peers' workloads, with
    their fidelity, and print the table."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--short", type=int, default=384)
    parser.add_argument("--chunks", type=int, default=96)
    args = parser.parse_args(argv)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    tokenizer = LlamaTokenizer(prepare_default(MODELS).path)
    texts, expected = load_reference(limit=10**6)
    work = workloads(tokenizer, args.short, args.chunks)
    paths = build()
    for path in paths:
        path.cosine = worst_cosine(embed(path.request, tokenizer, texts), expected)
    for round_ in range(args.rounds):
        for name, workload in work.items():
            for path in paths if round_ % 2 == 0 else list(reversed(paths)):
                started = time.perf_counter()
                embed(path.request, tokenizer, workload.texts)
                path.seconds.setdefault(name, []).append(time.perf_counter() - started)
    names = list(work)
    print(f"\n{len(texts)} reference texts; median of {args.rounds} rounds, paths interleaved")
    print(f"| path | {' | '.join(names)} | min cosine | keeps 0.9999 |")
    print(f"| --- |{' ---: |' * len(names)} ---: | --- |")
    base = paths[0]
    for path in paths:
        cells = []
        for name in names:
            rate = work[name].total_tokens / statistics.median(path.seconds[name])
            ratio = statistics.median(base.seconds[name]) / statistics.median(path.seconds[name])
            cells.append(f"{rate:,.0f} tok/s ({ratio:.2f}x)")
        keeps = "yes" if path.cosine >= 0.9999 else "no"
        print(f"| {path.name} | {' | '.join(cells)} | {path.cosine:.6f} | {keeps} |")
    print(machine_line(1, load_before))


if __name__ == "__main__":
    main()
