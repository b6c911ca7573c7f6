"""The fidelity contract: how close each weight type's vectors must stay to sentence-transformers.

Stated once, here. `models prepare` keeps only a type that meets its own bound, the tests assert
each type against its bound, and the benchmarks and README quote these numbers. The bound is the
minimum cosine, over the packaged reference texts, between our vector and the one
sentence-transformers (fp32, PyTorch) computes for the same text.

- f32 and f16 keep the weights (f16 rounds them to 11 significant bits, which MiniLM's small
  weights survive): >= 0.99999 (measured 0.999997 for both).
- bf16 keeps 8 significant bits, as AVX512_BF16 and AMX multiply them: >= 0.9999 (measured
  0.999978 with llama.cpp on both CPU families).
- Quantized GGUFs that users bring are served, never chosen by `prepare`: Q8_0 >= 0.999
  (measured 0.9993) and Q4_0 >= 0.9 (measured 0.953); MiniLM is too small to quantize well.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

MIN_COSINE: Mapping[str, float] = MappingProxyType(
    {
        "f32": 0.99999,
        "f16": 0.99999,
        "bf16": 0.9999,
        "q8_0": 0.999,
        "q4_0": 0.9,
    }
)
# The bound every type `models prepare` may pick keeps; the README's promise.
FLOOR = min(MIN_COSINE[kind] for kind in ("f32", "f16", "bf16"))


def min_cosine(weight_type: str) -> float:
    """The contract's bound for `weight_type` (f32, f16, bf16, q8_0, q4_0)."""
    try:
        return MIN_COSINE[weight_type.lower()]
    except KeyError:
        raise ValueError(f"no fidelity bound for weight type {weight_type!r}") from None


def keeps_contract(weight_type: str, cosine: float) -> bool:
    """Whether a measured minimum cosine meets `weight_type`'s bound."""
    return cosine >= min_cosine(weight_type)
