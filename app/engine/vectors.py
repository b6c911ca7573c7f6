"""Vector post-processing shared by every embedding path: normalize and truncate."""

from __future__ import annotations

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
