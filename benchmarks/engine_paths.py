"""The paths bench_engine_shapes times: ragprep's engine as the service builds it, its embedders
without the queue, and raw OpenVINO (our IR or the convert_model graph) driven by an
AsyncInferQueue over length-sorted batches. Each is an Embed: texts in, vectors out, tokenization
included.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.config import Settings
from app.engine.catalog import load_catalog
from app.engine.llama import LlamaTokenizer
from app.engine.openvino import OpenVinoEmbedder, OpenVinoModel, buckets
from app.engine.openvino_runtime import openvino_module
from app.registry.prepare import packaged_default_weights
from benchmarks.live import MODELS

Matrix = npt.NDArray[np.float32]
Rows = list[list[int]]
Embed = Callable[[list[str]], Matrix]
Tokenize = Callable[[list[str]], Rows]
Groups = Callable[[list[int]], list[list[int]]]


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


def compile_ir(
    xml: Path, hint: str, streams: int, *, hidden: bool = False, pinned: bool = True
) -> Any:
    """Our IR compiled in bf16; `hidden`: cut before the pooling (last hidden state out);
    `pinned`: OpenVINO's default of one core per stream thread, or free to migrate."""
    ov = openvino_module()

    core = ov.Core()
    model = core.read_model(str(xml))
    if hidden:
        divide = model.get_results()[0].input_value(0).get_node()
        weighted = divide.input_value(0).get_node().input_value(0).get_node()
        model = ov.Model([weighted.input_value(0)], model.get_parameters(), "hidden")
    config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "bf16", "PERFORMANCE_HINT": hint}
    if hint == "THROUGHPUT":
        config |= {"NUM_STREAMS": streams, "INFERENCE_NUM_THREADS": os.cpu_count() or 1}
    config["ENABLE_CPU_PINNING"] = pinned
    return core.compile_model(model, "CPU", config)


def compile_converted(hint: str) -> Any:
    """The HF model through `openvino.convert_model` (the issue's raw path; torch, bench extra),
    compiled as compile_ir compiles ours: its output is the last hidden state."""
    ov = openvino_module()
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
    group: Groups,
    jobs: int = 2,
    multiple: int = 1,
    share: bool = False,
    numpy_pool: bool = False,
) -> Embed:
    ov = openvino_module()

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


def fixed(size: int) -> Groups:
    return lambda lengths: fixed_groups(lengths, size)


def budgeted(budget: int) -> Groups:
    return lambda lengths: buckets(lengths, budget=budget)
