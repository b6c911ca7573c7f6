"""Pick the default model's weight type by measuring each candidate on this machine.

Each candidate GGUF is converted from the packaged weights into a folder the caller owns (which
then keeps the winner rather than converting it again), checked against the packaged
sentence-transformers reference vectors (tests/data/minilm-reference.json, shipped as package
data too) and timed, interleaved over rounds; the fastest faithful type wins. On a CPU whose
llama.cpp build reports AVX512_BF16, bf16 is expected to win (measured 6.2-6.7k tokens/s against
4.2-4.6k for f16 on a 2-core EPYC); within noise of the fastest, that expectation decides.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.registry.convert import convert_hf_to_gguf
from app.registry.fidelity import keeps_contract, min_cosine
from app.registry.specs import OUTTYPES, OutType

if TYPE_CHECKING:
    from app.engine.llama import LlamaEmbedder

log = logging.getLogger(__name__)

# Two timings within this fraction are a tie on a machine this noisy.
NOISE = 0.05
ROUNDS = 3
REFERENCE = Path(__file__).with_name("minilm-reference.json")


@dataclass(frozen=True)
class Measurement:
    weight_type: OutType
    tokens_per_second: float
    min_cosine: float

    @property
    def faithful(self) -> bool:
        """Whether this type meets its own bound in the fidelity contract."""
        return keeps_contract(self.weight_type, self.min_cosine)


@dataclass(frozen=True)
class Choice:
    weight_type: OutType
    reason: str


def cpu_has_bf16() -> bool:
    """Whether llama.cpp's CPU backend reports native BF16 dot products (AVX512_BF16)."""
    import llama_cpp

    info: bytes = llama_cpp.llama_print_system_info()
    return b"AVX512_BF16 = 1" in info


def preferred_type(*, has_bf16: bool) -> OutType:
    return "bf16" if has_bf16 else "f16"


def decide(measurements: list[Measurement], *, has_bf16: bool) -> Choice:
    """The fastest type meeting its fidelity bound; the CPU's preferred type on a near tie."""
    faithful = [m for m in measurements if m.faithful]
    if not faithful:
        return Choice("f32", "no candidate met its fidelity bound; f32 keeps full precision")
    fastest = max(faithful, key=lambda m: m.tokens_per_second)
    preferred = preferred_type(has_bf16=has_bf16)
    for m in faithful:
        if m.weight_type == preferred and m.tokens_per_second >= fastest.tokens_per_second * (
            1 - NOISE
        ):
            fastest = m
    figures = ", ".join(
        f"{m.weight_type} {m.tokens_per_second:,.0f} tokens/s (min cosine {m.min_cosine:.6f}, "
        f"bound {min_cosine(m.weight_type)})"
        for m in measurements
    )
    cpu = "AVX512_BF16" if has_bf16 else "no AVX512_BF16"
    return Choice(fastest.weight_type, f"fastest faithful type on this CPU ({cpu}): {figures}")


def load_reference(limit: int = 64) -> tuple[list[str], np.ndarray[Any, Any]]:
    items = json.loads(REFERENCE.read_text(encoding="utf-8"))["items"][:limit]
    vectors = np.array([item["embedding"] for item in items], dtype=np.float64)
    return [item["text"] for item in items], vectors


def candidate_path(workdir: Path, kind: OutType) -> Path:
    """Where `measure` leaves the candidate GGUF of type `kind`."""
    return workdir / f"{kind}.gguf"


def measure(
    weights_dir: Path, workdir: Path, candidates: tuple[OutType, ...] = OUTTYPES
) -> list[Measurement]:
    """Convert each candidate into `workdir` (left there: see candidate_path), then time them
    interleaved, median of rounds, on one thread."""
    from app.engine.llama import LlamaEmbedder, LlamaTokenizer

    texts, expected = load_reference()
    embedders: dict[OutType, LlamaEmbedder] = {}
    try:
        for kind in candidates:
            path = convert_hf_to_gguf(
                src=weights_dir, dst=candidate_path(workdir, kind), outtype=kind
            )
            tokenizer = LlamaTokenizer(path)
            embedders[kind] = LlamaEmbedder(path, tokenizer=tokenizer, threads=1, batch_tokens=512)
        sequences = [embedders[candidates[0]].tokenizer.tokenize(t) for t in texts]
        batches = _pack(sequences, budget=512)
        timings: dict[OutType, list[float]] = {kind: [] for kind in candidates}
        cosines: dict[OutType, float] = {}
        for _ in range(ROUNDS):
            for kind, embedder in embedders.items():
                started = time.perf_counter()
                vectors = _embed_packed(embedder, sequences, batches)
                timings[kind].append(time.perf_counter() - started)
                cosines[kind] = worst_cosine(vectors, expected)
    finally:
        for embedder in embedders.values():
            embedder.close()
    tokens = sum(len(s) + 2 for s in sequences)
    return [
        Measurement(kind, tokens / statistics.median(timings[kind]), cosines[kind])
        for kind in candidates
    ]


def fidelity_of(path: Path, weight_type: OutType) -> Measurement:
    """One GGUF's min cosine against the packaged reference vectors (speed not measured)."""
    from app.engine.llama import LlamaEmbedder, LlamaTokenizer

    texts, expected = load_reference()
    tokenizer = LlamaTokenizer(path)
    embedder = LlamaEmbedder(path, tokenizer=tokenizer, threads=1, batch_tokens=512)
    try:
        sequences = [tokenizer.tokenize(t) for t in texts]
        vectors = _embed_packed(embedder, sequences, _pack(sequences, budget=512))
    finally:
        embedder.close()
    return Measurement(weight_type, 0.0, worst_cosine(vectors, expected))


def _embed_packed(
    embedder: LlamaEmbedder, sequences: list[list[int]], batches: list[list[int]]
) -> np.ndarray[Any, Any]:
    """Embed `sequences` batch by batch; the vectors come back in the sequences' order."""
    vectors = np.vstack([embedder.embed_batch([sequences[i] for i in b]) for b in batches])
    order = [i for b in batches for i in b]
    in_order = np.empty_like(vectors)
    in_order[order] = vectors
    return in_order


def _pack(sequences: list[list[int]], *, budget: int) -> list[list[int]]:
    batches: list[list[int]] = [[]]
    used = 0
    for index, tokens in enumerate(sequences):
        cost = len(tokens) + 2
        if batches[-1] and used + cost > budget:
            batches.append([])
            used = 0
        batches[-1].append(index)
        used += cost
    return batches


def worst_cosine(got: np.ndarray[Any, Any], expected: np.ndarray[Any, Any]) -> float:
    got = got.astype(np.float64)
    dots = np.sum(got * expected, axis=1)
    norms = np.linalg.norm(got, axis=1) * np.linalg.norm(expected, axis=1)
    return float(np.min(dots / norms))


def choose_weight_type(weights_dir: Path, workdir: Path) -> Choice:
    """The type to keep; its measured file is candidate_path(workdir, choice.weight_type)."""
    log.info("measuring weight types %s on this machine (once)", ", ".join(OUTTYPES))
    return decide(measure(weights_dir, workdir), has_bf16=cpu_has_bf16())
