"""In-process peers for bench_peers: what a Python user gets from OpenVINO or ONNX Runtime alone.

Both take the Hugging Face model (the packaged safetensors) through the usual public route:
OpenVINO's `convert_model` on the transformers module (traced with torch: the `bench` extra), and
`torch.onnx.export` for ONNX Runtime. Texts are tokenized by the HF fast tokenizer, batches of 32
sorted by length and padded to the longest, mean pooled in NumPy: the recipe of OpenVINO's and
sentence-transformers' own documentation, nothing tuned for this benchmark.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.engine.openvino_runtime import openvino_module
from app.registry.prepare import packaged_default_weights

Matrix = npt.NDArray[np.float32]
Embed = Callable[[list[str]], Matrix]
BATCH = 32


def _hf() -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    source = str(packaged_default_weights())
    return AutoTokenizer.from_pretrained(source), AutoModel.from_pretrained(source).eval()


def _sorted_batches(tokenizer: Any, run: Callable[[dict[str, Any]], Matrix]) -> Embed:
    def embed(texts: list[str]) -> Matrix:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            batch = tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=512,
                return_tensors="np",
            )
            hidden = run(dict(batch))
            mask = batch["attention_mask"][..., None].astype(np.float32)
            out[rows] = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return out

    return embed


def openvino_direct() -> Embed:
    """`openvino.convert_model` on the HF model, compiled with OpenVINO's defaults."""
    ov = openvino_module()
    import torch

    tokenizer, model = _hf()
    example = dict(tokenizer(["an example input"], return_tensors="pt"))
    with torch.no_grad():
        converted = ov.convert_model(model, example_input=example)
    compiled = ov.Core().compile_model(converted, "CPU")
    request = compiled.create_infer_request()

    def run(batch: dict[str, Any]) -> Matrix:
        result = request.infer(batch)
        hidden: Matrix = result[compiled.output(0)]
        return hidden

    return _sorted_batches(tokenizer, run)


def onnx_runtime() -> Embed:
    """The HF model exported with torch.onnx.export, run by ONNX Runtime's CPU provider."""
    import onnxruntime as ort
    import torch

    tokenizer, model = _hf()
    names = ["input_ids", "attention_mask", "token_type_ids"]

    class Hidden(torch.nn.Module):
        """transformers 5's BertModel.forward trips the tracer on keyword arguments it adds
        (use_cache); called by keyword from a wrapper, it traces."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, *inputs: Any) -> Any:
            return self.bert(**dict(zip(names, inputs, strict=True))).last_hidden_state

    example = tokenizer(["an example input"], return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(
                Hidden(),
                tuple(example[name] for name in names),
                str(path),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                dynamo=False,
            )
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(batch: dict[str, Any]) -> Matrix:
        feeds = {name: batch[name].astype(np.int64) for name in names}
        hidden: Matrix = session.run(["last_hidden_state"], feeds)[0]
        return hidden

    return _sorted_batches(tokenizer, run)
