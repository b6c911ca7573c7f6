"""Build an OpenVINO IR of a BERT sentence-transformers model straight from its safetensors.

The graph is written with OpenVINO's own opset API, as convert.py writes a GGUF for llama.cpp:
no torch, no ONNX exporter. It takes `input_ids` and `attention_mask` ([batch, sequence], both
dynamic, padded with any id where the mask is 0) and returns the pooled, unnormalized vector per
row, pooled as the model's 1_Pooling config says (mean over unmasked tokens, or [CLS]).
Weights are stored in f32; the precision is chosen when compiling (INFERENCE_PRECISION_HINT).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from app.engine.openvino_runtime import openvino_module
from app.registry.convert import ConversionError, iter_tensors, load_config, pooling_mode

if TYPE_CHECKING:
    from app.engine.openvino_runtime import Model

log = logging.getLogger(__name__)

Weights = dict[str, npt.NDArray[np.float32]]
# HF's additive mask value for padded keys: large enough that softmax gives them 0.
_MASKED = -1.0e4
_QKV = ("query", "key", "value")


def build_ir(*, src: Path, dst: Path) -> Path:
    """Write `dst` (.xml, with its .bin beside it) for the BERT folder `src`, atomically."""
    ov = openvino_module()

    model = build_model(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dst.parent, prefix=f".{dst.stem}-") as tmp:
        staged = Path(tmp) / dst.name
        # f32 on disk: compress_to_fp16 (the default) would cost the f32 path its fidelity.
        ov.save_model(model, staged, compress_to_fp16=False)
        # .bin first: an .xml on disk always has its weights beside it.
        os.replace(staged.with_suffix(".bin"), dst.with_suffix(".bin"))
        os.replace(staged, dst)
    log.info("built OpenVINO IR %s from %s", dst, src)
    return dst


def build_model(src: Path, graph_type: Callable[..., _Graph] | None = None) -> Model:
    """The pooled-embedding graph of the BERT folder `src` (ConversionError if unsupported).
    `graph_type` builds the nodes instead of `_Graph` (benchmarks/bench_int8.py's int8 weights)."""
    config = load_config(src)
    pooling = pooling_mode(src)
    if pooling not in ("mean", "cls"):
        raise ConversionError(f"{pooling} pooling is not supported by the OpenVINO engine: {src}")
    weights = _read_weights(src)
    try:
        layers = int(config["num_hidden_layers"])
        heads = int(config["num_attention_heads"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConversionError(f"missing or invalid {exc} in {src / 'config.json'}") from exc
    if config.get("hidden_act", "gelu") != "gelu":
        raise ConversionError(f"only hidden_act gelu is supported: {src / 'config.json'}")
    eps = float(config.get("layer_norm_eps", 1e-12))
    graph = (graph_type or _Graph)(weights, heads=heads, eps=eps)
    try:
        return graph.model(layers, pooling)
    except KeyError as exc:
        raise ConversionError(f"tensor {exc} missing from {src}") from exc


def _read_weights(src: Path) -> Weights:
    weights: Weights = {}
    for name, data in iter_tensors(src):
        for prefix in ("bert.", "model."):
            name = name.removeprefix(prefix)
        weights[name] = np.ascontiguousarray(data, dtype=np.float32)
    return weights


class _Graph:
    """Opset nodes over the weights; method names follow the BERT blocks they build."""

    def __init__(self, weights: Weights, *, heads: int, eps: float) -> None:
        self.ops = openvino_module().opset13
        self.w = weights
        self.heads = heads
        self.eps = eps

    def const(self, name: str) -> Any:
        return self.ops.constant(self.w[name])

    def layer_norm(self, x: Any, prefix: str) -> Any:
        ops = self.ops
        axes = ops.constant(np.array([-1], dtype=np.int64))
        norm = ops.mvn(x, axes, normalize_variance=True, eps=self.eps, eps_mode="inside_sqrt")
        return ops.add(
            ops.multiply(norm, self.const(f"{prefix}.weight")), self.const(f"{prefix}.bias")
        )

    def dense(self, x: Any, prefix: str) -> Any:
        ops = self.ops
        product = ops.matmul(x, self.const(f"{prefix}.weight"), False, True)
        return ops.add(product, self.const(f"{prefix}.bias"))

    def embeddings(self, input_ids: Any) -> Any:
        ops = self.ops
        zero = ops.constant(np.int64(0))
        words = ops.gather(self.const("embeddings.word_embeddings.weight"), input_ids, zero)
        length = ops.gather(ops.shape_of(input_ids), ops.constant(np.int64(1)), zero)
        positions = ops.range(zero, length, ops.constant(np.int64(1)), output_type="i64")
        placed = ops.gather(self.const("embeddings.position_embeddings.weight"), positions, zero)
        # Every sequence is one segment: token type 0 for all, a constant row.
        segment = ops.constant(self.w["embeddings.token_type_embeddings.weight"][0])
        summed = ops.add(ops.add(words, placed), segment)
        return self.layer_norm(summed, "embeddings.LayerNorm")

    def split_heads(self, x: Any) -> Any:
        ops = self.ops
        shape = ops.constant(np.array([0, 0, self.heads, -1], dtype=np.int64))
        split = ops.reshape(x, shape, special_zero=True)
        return ops.transpose(split, ops.constant(np.array([0, 2, 1, 3], dtype=np.int64)))

    def projections(self, x: Any, prefix: str) -> tuple[Any, Any, Any]:
        """Query, key and value of `x`, split into heads."""
        q, k, v = (self.split_heads(self.dense(x, f"{prefix}.{n}")) for n in _QKV)
        return q, k, v

    def attention(self, x: Any, bias: Any, prefix: str) -> Any:
        ops = self.ops
        q, k, v = self.projections(x, f"{prefix}.self")
        context = ops.scaled_dot_product_attention(q, k, v, bias, causal=False)
        merged = ops.transpose(context, ops.constant(np.array([0, 2, 1, 3], dtype=np.int64)))
        flat = ops.reshape(merged, ops.constant(np.array([0, 0, -1], dtype=np.int64)), True)
        out = self.dense(flat, f"{prefix}.output.dense")
        return self.layer_norm(ops.add(out, x), f"{prefix}.output.LayerNorm")

    def feed_forward(self, x: Any, prefix: str) -> Any:
        ops = self.ops
        inner = ops.gelu(self.dense(x, f"{prefix}.intermediate.dense"), approximation_mode="erf")
        out = self.dense(inner, f"{prefix}.output.dense")
        return self.layer_norm(ops.add(out, x), f"{prefix}.output.LayerNorm")

    def model(self, layers: int, pooling: str) -> Model:
        ov = openvino_module()

        ops = self.ops
        input_ids = ops.parameter([-1, -1], ov.Type.i64, name="input_ids")
        attention_mask = ops.parameter([-1, -1], ov.Type.i64, name="attention_mask")
        mask = ops.convert(attention_mask, ov.Type.f32)
        # [batch, 1, 1, keys]: 0 where attended, _MASKED where padded.
        keep = ops.unsqueeze(mask, ops.constant(np.array([1, 2], dtype=np.int64)))
        bias = ops.multiply(
            ops.subtract(ops.constant(np.float32(1)), keep), ops.constant(np.float32(_MASKED))
        )
        x = self.embeddings(input_ids)
        for i in range(layers):
            x = self.attention(x, bias, f"encoder.layer.{i}.attention")
            x = self.feed_forward(x, f"encoder.layer.{i}")
        pooled = self.pool(x, mask, pooling)
        pooled.get_output_tensor(0).set_names({"embedding"})
        return ov.Model([pooled], [input_ids, attention_mask], "sentence_embedding")

    def pool(self, x: Any, mask: Any, pooling: str) -> Any:
        ops = self.ops
        if pooling == "cls":
            return ops.gather(x, ops.constant(np.int64(0)), ops.constant(np.int64(1)))
        weights = ops.unsqueeze(mask, ops.constant(np.array([2], dtype=np.int64)))
        summed = ops.reduce_sum(
            ops.multiply(x, weights), ops.constant(np.array([1], dtype=np.int64))
        )
        counts = ops.reduce_sum(weights, ops.constant(np.array([1], dtype=np.int64)))
        # As sentence-transformers: the count clamped at 1e-9, so an all-pad row gives 0, not NaN.
        return ops.divide(summed, ops.maximum(counts, ops.constant(np.float32(1e-9))))
