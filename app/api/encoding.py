"""Vectors as OpenAI's `encoding_format` sends them."""

from __future__ import annotations

import base64

from app.engine.vectors import Vectors


def encode(vector: Vectors, encoding_format: str) -> list[float] | str:
    """A list of floats, or base64 of little-endian float32 (a quarter of the JSON's size)."""
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    values: list[float] = vector.tolist()
    return values
