"""Would another way of writing MiniLM's graph run faster in OpenVINO? Each variant beside the
graph `models prepare` builds, all compiled in bf16, in one process.

    python -m benchmarks.bench_graph_variants [--rounds 3] [--short 384] [--chunks 96]

The harness is bench_int8's (one infer request on one thread each, the engine's length
buckets, paths interleaved, medians, real tokens with [CLS]/[SEP], fidelity against the
packaged reference vectors). Variants:
- query, key and value as one matrix multiply (weights concatenated to [1152, 384]) split in
  three, instead of three multiplies over the same input;
- GELU's tanh approximation instead of the exact erf form BERT was trained with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.registry import openvino_ir
from app.registry.prepare import packaged_default_weights
from benchmarks.bench_int8 import Path_, compare, compiled_request


class FusedQkvGraph(openvino_ir._Graph):
    """Attention whose three input projections are one matrix multiply."""

    def projections(self, x: Any, prefix: str) -> tuple[Any, Any, Any]:
        ops = self.ops
        parts = [f"{prefix}.{n}" for n in ("query", "key", "value")]
        weight = np.concatenate([self.w[f"{p}.weight"] for p in parts], axis=0)
        bias = np.concatenate([self.w[f"{p}.bias"] for p in parts], axis=0)
        product = ops.matmul(x, ops.constant(weight), False, True)
        qkv = ops.split(ops.add(product, ops.constant(bias)), ops.constant(np.int64(-1)), 3)
        q, k, v = (self.split_heads(output) for output in qkv.outputs())
        return q, k, v


class TanhGeluGraph(openvino_ir._Graph):
    """The feed-forward block with GELU's tanh approximation."""

    def feed_forward(self, x: Any, prefix: str) -> Any:
        ops = self.ops
        dense = self.dense(x, f"{prefix}.intermediate.dense")
        out = self.dense(ops.gelu(dense, approximation_mode="tanh"), f"{prefix}.output.dense")
        return self.layer_norm(ops.add(out, x), f"{prefix}.output.LayerNorm")


def build_paths() -> list[Path_]:
    src = packaged_default_weights()
    graphs: list[tuple[str, Any]] = [
        ("the served graph (three Q/K/V multiplies, exact GELU)", None),
        ("Q/K/V as one multiply", FusedQkvGraph),
        ("GELU, tanh approximation", TanhGeluGraph),
    ]
    return [Path_(name, compiled_request(openvino_ir.build_model(src, g), 0)) for name, g in graphs]


def main(argv: Sequence[str] | None = None) -> None:
    compare(build_paths, (__doc__ or "").splitlines()[0], argv)


if __name__ == "__main__":
    main()
