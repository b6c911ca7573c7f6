"""Pick the engine (llama.cpp or OpenVINO, and OpenVINO's precision) by measuring each here.

Like the weight type (weight_type.py), the engine is chosen once by `models prepare`: each
candidate embeds the packaged reference texts, one thread each, interleaved over rounds; the
fastest whose vectors keep the fidelity contract for its precision wins. OpenVINO bf16 is only a
candidate where the CPU computes bf16 natively (AVX512_BF16 or AMX); emulated it is slow.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.registry.fidelity import keeps_contract, min_cosine
from app.registry.specs import Backend, OutType, Precision
from app.registry.weight_type import ROUNDS, load_reference, worst_cosine

log = logging.getLogger(__name__)

Embed = Callable[[list[list[int]]], npt.NDArray[np.float32]]


@dataclass(frozen=True)
class EngineMeasurement:
    backend: Backend
    precision: str  # the GGUF's weight type for llama.cpp, the inference precision for OpenVINO
    tokens_per_second: float
    min_cosine: float

    @property
    def faithful(self) -> bool:
        return keeps_contract(self.precision, self.min_cosine)

    def __str__(self) -> str:
        return (
            f"{self.backend} {self.precision} {self.tokens_per_second:,.0f} tokens/s "
            f"(min cosine {self.min_cosine:.6f}, bound {min_cosine(self.precision)})"
        )


@dataclass(frozen=True)
class EngineChoice:
    backend: Backend
    precision: str
    reason: str


def decide_engine(measurements: Sequence[EngineMeasurement]) -> EngineChoice:
    """The fastest candidate keeping its precision's bound; llama.cpp if none does (its GGUF
    passed its own check when its weight type was chosen)."""
    figures = "; ".join(str(m) for m in measurements)
    faithful = [m for m in measurements if m.faithful]
    if not faithful:
        llama = next(m for m in measurements if m.backend == "llama")
        return EngineChoice("llama", llama.precision, f"no candidate kept its bound: {figures}")
    best = max(faithful, key=lambda m: m.tokens_per_second)
    unfaithful = [f"{m.backend} {m.precision}" for m in measurements if not m.faithful]
    dropped = f"; below the fidelity bound: {', '.join(unfaithful)}" if unfaithful else ""
    return EngineChoice(
        best.backend, best.precision, f"fastest faithful engine here: {figures}{dropped}"
    )


def measure_engines(
    gguf: Path, weight_type: OutType, ir: Path, precisions: Sequence[Precision]
) -> list[EngineMeasurement]:
    """Time llama.cpp on `gguf` and OpenVINO on `ir` in each precision, one thread each."""
    from app.engine.llama import LlamaEmbedder, LlamaTokenizer
    from app.engine.openvino import OpenVinoEmbedder, OpenVinoModel

    tokenizer = LlamaTokenizer(gguf)
    texts, expected = load_reference()
    sequences = [tokenizer.tokenize(text) for text in texts]
    llama = LlamaEmbedder(gguf, tokenizer=tokenizer, threads=1, batch_tokens=512)
    candidates: dict[tuple[Backend, str], tuple[Embed, Callable[[], None]]] = {
        ("llama", weight_type): (_packed(llama.embed_batch), llama.close)
    }
    for precision in precisions:
        model = OpenVinoModel(
            ir, precision=precision, streams=1, threads_per_stream=1, cache_dir=None
        )
        embedder = OpenVinoEmbedder(model, tokenizer=tokenizer, batch_tokens=512)
        candidates[("openvino", precision)] = (embedder.embed_batch, embedder.close)
    try:
        return _time(candidates, sequences, expected)
    finally:
        for _, close in candidates.values():
            close()


def _packed(embed: Embed) -> Embed:
    """llama.cpp takes at most one 512-token ubatch; packed as the batch workers pack."""

    def run(sequences: list[list[int]]) -> npt.NDArray[np.float32]:
        batches: list[list[list[int]]] = [[]]
        used = 0
        for tokens in sequences:
            if batches[-1] and used + len(tokens) + 2 > 512:
                batches.append([])
                used = 0
            batches[-1].append(tokens)
            used += len(tokens) + 2
        return np.vstack([embed(batch) for batch in batches])

    return run


def _time(
    candidates: dict[tuple[Backend, str], tuple[Embed, Callable[[], None]]],
    sequences: list[list[int]],
    expected: npt.NDArray[np.float64],
) -> list[EngineMeasurement]:
    timings: dict[tuple[Backend, str], list[float]] = {key: [] for key in candidates}
    cosines: dict[tuple[Backend, str], float] = {}
    for embed, _ in candidates.values():
        embed(sequences)  # warm-up: OpenVINO prepares its first shapes lazily
    for _ in range(ROUNDS):
        for key, (embed, _) in candidates.items():
            started = time.perf_counter()
            vectors = embed(sequences)
            timings[key].append(time.perf_counter() - started)
            cosines[key] = worst_cosine(vectors, expected)
    tokens = sum(len(s) + 2 for s in sequences)
    return [
        EngineMeasurement(backend, precision, tokens / statistics.median(times), cosines[key])
        for key, times in timings.items()
        for backend, precision in [key]
    ]
