"""The small interface the app uses to tokenize and embed; nothing here knows llama.cpp."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt


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

    @property
    def prefix(self) -> Sequence[int]:
        """Special token ids the embedder puts before every sequence ([CLS] for BERT)."""
        ...

    @property
    def suffix(self) -> Sequence[int]:
        """Special token ids the embedder puts after every sequence ([SEP] for BERT)."""
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


class Embedder(Protocol):
    """Embeds batches of sequences already tokenized by the model's `Tokenizer`."""

    @property
    def dimensions(self) -> int: ...

    @property
    def special_tokens(self) -> int:
        """Tokens added to each sequence, which count against the batch budget."""
        ...

    def embed_batch(self, sequences: Sequence[Sequence[int]]) -> npt.NDArray[np.float32]:
        """Pooled, unnormalized vectors for token sequences (special tokens are added here)."""
        ...

    def close(self) -> None:
        """Free the model context; called once the worker has drained."""
        ...
