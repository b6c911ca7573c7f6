"""The small interface the app uses to tokenize and embed; nothing here knows llama.cpp."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Tokenizer(Protocol):
    """A model's own tokenizer, as chunking and request validation need it."""

    @property
    def window(self) -> int:
        """Trained context length in tokens, special tokens included."""
        ...

    @property
    def special_tokens(self) -> int:
        """Tokens the embedder adds to every sequence (e.g. [CLS] and [SEP] for BERT)."""
        ...

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text`, without the per-sequence special tokens."""
        ...

    def count(self, text: str) -> int:
        """Number of tokens of `text`, without the per-sequence special tokens."""
        ...

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Text of model-vocabulary token ids."""
        ...


class Embedder(Tokenizer, Protocol):
    """A tokenizer that can also embed batches of already-tokenized sequences."""

    @property
    def dimensions(self) -> int: ...

    def embed_batch(self, sequences: Sequence[Sequence[int]]) -> list[list[float]]:
        """Pooled, unnormalized vectors for token sequences (special tokens are added here)."""
        ...
