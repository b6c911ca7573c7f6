"""OpenVINO implementation of the Embedder interface, over an IR built by app/registry/openvino_ir.

The model is compiled once (`OpenVinoModel`) with one CPU stream per batch worker; each
`OpenVinoEmbedder` owns one infer request on it and is driven by exactly one worker thread, as a
llama.cpp context is. Tokens come from the model's GGUF tokenizer (`LlamaTokenizer`), the one the
chunker counts with. `openvino` is imported here only, so a llama.cpp-only start never pays for
it.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from app.config import Settings
from app.engine.base import Tokenizer
from app.engine.batcher import BatchEngine
from app.engine.llama import ModelLoadError
from app.engine.openvino_runtime import openvino_module
from app.observability.metrics import Metrics
from app.registry.prepare_engine import ir_pooling
from app.registry.specs import PRECISIONS, ModelSpec, Precision

if TYPE_CHECKING:
    from app.engine.openvino_runtime import CompiledModel

log = logging.getLogger(__name__)

# Padded lengths are rounded up to this multiple: fewer distinct shapes for the CPU plugin to
# prepare, for at most 7 pad tokens a row.
PAD_MULTIPLE = 8
# A sub-batch may hold this much more padded than real work before it is split (see buckets).
PAD_SLACK = 1.25


def compile_cache(settings: Settings) -> Path:
    """Where OpenVINO keeps compiled blobs, so a restart loads one instead of compiling."""
    return settings.models_dir / ".cache" / "openvino"


# Compilations started ahead of the catalog (see compile_in_background), by what they compile.
_Key = tuple[str, str, int, int]
_ahead: dict[_Key, Future[Any]] = {}
_ahead_lock = threading.Lock()


def compile_in_background(
    xml: Path, *, precision: Precision, streams: int, threads_per_stream: int, cache_dir: Path
) -> None:
    """Import openvino (~0.3 s) and compile `xml` (~0.3 s from the blob cache) on a daemon
    thread, so start-up's database steps and imports overlap them; the OpenVinoModel asking for
    the same compilation then takes it instead of compiling again."""
    key = (str(xml.resolve()), precision, streams, threads_per_stream)
    with _ahead_lock:
        if key in _ahead:
            return
        future: Future[Any] = Future()
        _ahead[key] = future

    def run() -> None:
        try:
            future.set_result(_compile(xml, precision, streams, threads_per_stream, cache_dir))
        except BaseException as exc:  # handed to the OpenVinoModel that takes it
            future.set_exception(exc)

    threading.Thread(target=run, name="openvino-compile", daemon=True).start()


def _take_ahead(key: _Key) -> Any | None:
    with _ahead_lock:
        future = _ahead.pop(key, None)
    return None if future is None else future.result()


def _compile(
    xml: Path, precision: Precision, streams: int, threads_per_stream: int, cache_dir: Path | None
) -> CompiledModel:
    ov = openvino_module()

    core = ov.Core()
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        core.set_property({"CACHE_DIR": str(cache_dir)})
    config = {
        "INFERENCE_PRECISION_HINT": precision,
        "NUM_STREAMS": streams,
        "INFERENCE_NUM_THREADS": streams * threads_per_stream,
        "PERFORMANCE_HINT": "THROUGHPUT",
    }
    started = time.perf_counter()
    compiled = core.compile_model(str(xml), "CPU", config)
    log.debug("compiled %s (%s) in %.2f s", xml, precision, time.perf_counter() - started)
    return compiled


@functools.cache
def cpu_capabilities() -> tuple[str, ...]:
    """OpenVINO's CPU plugin capabilities here; "BF16" means AVX512_BF16 or AMX. Asked once:
    every ov.Core() costs a plugin query."""
    ov = openvino_module()

    capabilities: list[str] = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return tuple(capabilities)


def offered_precisions(capabilities: Sequence[str] | None = None) -> tuple[Precision, ...]:
    """The precisions OpenVINO may serve with on a CPU (this one unless given), fastest first.
    Without native bf16 the plugin runs f32 when asked for bf16 (seen on an AVX2-only EPYC), so
    bf16 is not offered there: it would only be a wrong label."""
    found = cpu_capabilities() if capabilities is None else capabilities
    return PRECISIONS if "BF16" in found else ("f32",)


def openvino_engine(
    spec: ModelSpec,
    tokenizer: Tokenizer,
    settings: Settings,
    metrics: Metrics | None,
    precision: str,
    layout: tuple[int, int],
) -> BatchEngine:
    """One compiled model with a CPU stream per worker, one infer request per worker thread."""
    workers, threads = layout
    assert precision in PRECISIONS
    model = OpenVinoModel(
        spec.ir,
        precision=precision,
        streams=workers,
        threads_per_stream=threads,
        cache_dir=compile_cache(settings),
    )
    pooling = ir_pooling(spec.ir)
    batch_tokens = spec.batch or settings.batch_tokens
    embedders = [
        OpenVinoEmbedder(model, tokenizer=tokenizer, batch_tokens=batch_tokens, pooling=pooling)
        for _ in range(workers)
    ]
    return BatchEngine(
        embedders=embedders,
        batch_tokens=embedders[0].batch_tokens,
        queue_size=settings.queue_size,
        queue_tokens=settings.queue_tokens,
        name=spec.name,
        max_sequences=embedders[0].max_sequences,
        release=model.close,
        metrics=metrics,
    )


def _first_inference(compiled: CompiledModel) -> None:
    """One inference on this thread before any worker runs one. The first input copy in a
    process initialises pybind11's NumPy API under a function-local static; two worker threads
    getting there at once deadlock (one waits on the static's guard holding the GIL, the other
    for the GIL inside the guard), seen here as a test hung in InferRequest.infer."""
    ids = np.zeros((1, PAD_MULTIPLE), dtype=np.int64)
    compiled.create_infer_request().infer({"input_ids": ids, "attention_mask": ids + 1})


class OpenVinoModel:
    """One compiled IR shared by `streams` embedders; compiled blobs cached in `cache_dir`."""

    def __init__(
        self,
        xml: Path,
        *,
        precision: Precision,
        streams: int,
        threads_per_stream: int,
        cache_dir: Path | None,
    ) -> None:
        if not xml.is_file() or not xml.with_suffix(".bin").is_file():
            raise ModelLoadError(f"OpenVINO IR {xml} (or its .bin) does not exist")
        key = (str(xml.resolve()), precision, streams, threads_per_stream)
        try:
            compiled = _take_ahead(key) or _compile(
                xml, precision, streams, threads_per_stream, cache_dir
            )
        except RuntimeError as exc:
            raise ModelLoadError(f"OpenVINO could not compile {xml}: {exc}") from exc
        self.compiled: CompiledModel = compiled
        _first_inference(compiled)
        self.path = xml
        self.precision = precision
        self.threads = threads_per_stream
        self.dimensions = int(self.compiled.output(0).get_partial_shape()[1].get_length())

    def close(self) -> None:
        del self.compiled


class OpenVinoEmbedder:
    """One infer request on a compiled model. Not thread-safe: exactly one thread calls
    embed_batch. Rows are sorted by length and cut into sub-batches so padding stays small."""

    def __init__(
        self,
        model: OpenVinoModel,
        *,
        tokenizer: Tokenizer,
        batch_tokens: int,
        pooling: str = "mean",
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.dimensions = model.dimensions
        self.threads = model.threads
        self.batch_tokens = max(batch_tokens, tokenizer.window)
        self.max_sequences = self.batch_tokens
        self._request = model.compiled.create_infer_request()
        self._affixes = (list(tokenizer.prefix), list(tokenizer.suffix))

    @property
    def special_tokens(self) -> int:
        return self.tokenizer.special_tokens

    def embed_batch(self, sequences: Sequence[Sequence[int]]) -> npt.NDArray[np.float32]:
        prefix, suffix = self._affixes
        rows = [[*prefix, *tokens, *suffix] for tokens in sequences]
        out = np.empty((len(rows), self.dimensions), dtype=np.float32)
        for bucket in buckets([len(r) for r in rows], budget=self.batch_tokens):
            ids, mask = pad([rows[i] for i in bucket])
            result = self._request.infer({"input_ids": ids, "attention_mask": mask})
            out[bucket] = result[0]
        return out

    def close(self) -> None:
        del self._request


def buckets(lengths: Sequence[int], *, budget: int) -> list[list[int]]:
    """Row indices grouped shortest first into sub-batches whose padded size stays within
    `budget` tokens and within PAD_SLACK of their real tokens, plus the rounding to
    PAD_MULTIPLE (a much longer row starts a new sub-batch)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    groups: list[list[int]] = []
    real = 0
    for index in order:
        width = padded_width(lengths[index])
        group = groups[-1] if groups else None
        if group is not None:
            rows, cost = len(group) + 1, width * (len(group) + 1)
            # Rounding up to PAD_MULTIPLE is not counted against the slack.
            allowed = PAD_SLACK * (real + lengths[index]) + PAD_MULTIPLE * rows
            if cost <= budget and cost <= allowed:
                group.append(index)
                real += lengths[index]
                continue
        groups.append([index])
        real = lengths[index]
    return groups


def padded_width(length: int) -> int:
    return -(-length // PAD_MULTIPLE) * PAD_MULTIPLE


def pad(rows: Sequence[Sequence[int]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Token ids and attention mask, [rows, width], padded with 0 where the mask is 0."""
    width = padded_width(max(len(r) for r in rows))
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask
