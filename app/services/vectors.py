"""Vector post-processing shared by every embedding path: normalize, truncate, encode."""

from __future__ import annotations

import base64

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


def l2_normalize(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def shape(vectors: Vectors, *, normalize: bool, dimensions: int | None) -> Vectors:
    """Apply the model's normalization, then OpenAI `dimensions` (truncate, re-normalize)."""
    if dimensions is not None and dimensions < vectors.shape[1]:
        vectors = vectors[:, :dimensions]
    return l2_normalize(vectors) if normalize else vectors


def encode(vector: Vectors, encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    values: list[float] = vector.tolist()
    return values
