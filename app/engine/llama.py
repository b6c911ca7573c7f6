"""llama.cpp (llama-cpp-python) implementation of the Tokenizer and Embedder interfaces.

The tokenizer is a vocab-only model that request threads may share. The weights are loaded once
(`LlamaWeights`); each `LlamaEmbedder` is one decode context over them, driven by exactly one
batch worker thread.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import llama_cpp
import numpy as np
import numpy.typing as npt
from llama_cpp import _internals

POOLING_NAMES = {
    llama_cpp.LLAMA_POOLING_TYPE_NONE: "none",
    llama_cpp.LLAMA_POOLING_TYPE_MEAN: "mean",
    llama_cpp.LLAMA_POOLING_TYPE_CLS: "cls",
    llama_cpp.LLAMA_POOLING_TYPE_LAST: "last",
}


# Most vocabulary pieces fit; a longer one gets a buffer of the size llama.cpp asks for.
_PIECE_BYTES = 64


class ModelLoadError(Exception):
    """The model file is missing, corrupt or not an embedding model llama.cpp can pool."""


@functools.cache
def amx_build() -> bool:
    """Whether this llama.cpp build would repack quantized weights for Intel AMX."""
    return b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()


def model_params(*, vocab_only: bool, amx: bool) -> llama_cpp.llama_model_params:
    """llama.cpp load parameters; `amx`: whether this build would repack for Intel AMX."""
    params: llama_cpp.llama_model_params = llama_cpp.llama_model_default_params()
    params.vocab_only = vocab_only
    # On AMX machines llama.cpp repacks Q4_0/Q8_0/K-quant weights into an AMX buffer whose
    # matmul segfaults on the first encode (seen here with Q8_0 MiniLM; ggml-org/llama.cpp#20824,
    # unfixed). Without the extra buffers the plain CPU kernels run them, correctly.
    params.use_extra_bufts = not amx
    return params


def _load_model(path: Path, *, vocab_only: bool) -> _internals.LlamaModel:
    # llama-cpp-python prints llama.cpp's log to stderr unless its logger is quieted, which
    # llama_cpp.Llama(verbose=False) does and the low-level API we use does not.
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
    params = model_params(vocab_only=vocab_only, amx=amx_build())
    try:
        return _internals.LlamaModel(path_model=str(path), params=params, verbose=False)
    except ValueError as exc:
        raise ModelLoadError(f"llama.cpp could not load {path}: {exc}") from exc


class LlamaTokenizer:
    """The model's own tokenizer (WordPiece for BERT), from a vocab-only load."""

    def __init__(self, path: Path, *, window: int | None = None) -> None:
        self._model = _load_model(path, vocab_only=True)
        # A vocab-only load leaves n_ctx_train at 0; the trained window is in the metadata.
        self.metadata: dict[str, str] = self._model.metadata()
        arch = self.metadata.get("general.architecture", "")
        trained = int(self.metadata.get(f"{arch}.context_length", "0"))
        if trained <= 0:
            raise ModelLoadError(f"{path} does not declare {arch}.context_length")
        self.trained_window = trained
        self._window = min(window or trained, trained)
        self.prefix, self.suffix = self._special_affixes()

    def _special_affixes(self) -> tuple[list[int], list[int]]:
        """Which tokens llama.cpp adds around every sequence, found by diffing one probe."""
        probe = b"hello"
        bare = self._model.tokenize(probe, add_bos=False, special=False)
        full = self._model.tokenize(probe, add_bos=True, special=False)
        for start in range(len(full) - len(bare) + 1):
            if full[start : start + len(bare)] == bare:
                return full[:start], full[start + len(bare) :]
        raise ModelLoadError("could not locate the special tokens this model adds")

    @property
    def window(self) -> int:
        return self._window

    @property
    def special_tokens(self) -> int:
        return len(self.prefix) + len(self.suffix)

    @property
    def vocab_size(self) -> int:
        return int(self._model.n_vocab())

    def tokenize(self, text: str) -> list[int]:
        tokens: list[int] = self._model.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        return tokens

    def count(self, text: str) -> int:
        # A zero-length output buffer makes llama_tokenize return -(token count) in one pass,
        # without the list building of tokenize(); the splitter calls this thousands of times.
        data = text.encode("utf-8")
        needed = llama_cpp.llama_tokenize(self._model.vocab, data, len(data), None, 0, False, False)
        return int(-needed if needed < 0 else needed)

    def detokenize(self, tokens: Sequence[int]) -> str:
        # llama-cpp-python's own detokenize grows one bytes object piece by piece: quadratic
        # (400k ids 12 s, 1M ids 71 s). The same pieces, joined once, are linear.
        vocab = self._model.vocab
        size = _PIECE_BYTES
        buffer = ctypes.create_string_buffer(size)
        pieces = []
        for token in tokens:
            n = llama_cpp.llama_token_to_piece(vocab, token, buffer, size, 0, False)
            if n < 0:  # a longer piece: -n is the size it needs
                size = -n
                buffer = ctypes.create_string_buffer(size)
                n = llama_cpp.llama_token_to_piece(vocab, token, buffer, size, 0, False)
            pieces.append(buffer.raw[:n])
        return b"".join(pieces).decode("utf-8", errors="replace").strip()


class LlamaWeights:
    """One full load of a GGUF's weights, shared read-only by any number of decode contexts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.model = _load_model(path, vocab_only=False)

    def close(self) -> None:
        self.model.close()


class LlamaEmbedder:
    """One llama.cpp embedding context over loaded weights. Not thread-safe: exactly one thread
    calls embed_batch. Several embedders may share one `LlamaWeights` (each its own context).
    """

    def __init__(
        self,
        weights: LlamaWeights | Path,
        *,
        tokenizer: LlamaTokenizer,
        threads: int,
        batch_tokens: int,
    ) -> None:
        self.tokenizer = tokenizer
        # Given a path, the embedder loads (and later frees) weights of its own.
        self._owned = LlamaWeights(weights) if isinstance(weights, Path) else None
        self.weights = self._owned or weights
        assert isinstance(self.weights, LlamaWeights)
        # BERT is non-causal: every sequence must fit in one ubatch, so size it for a full window.
        self.batch_tokens = max(batch_tokens, tokenizer.window)
        self.threads = threads or os.cpu_count() or 1
        params = self._context_params()
        try:
            self._ctx = _internals.LlamaContext(
                model=self.weights.model, params=params, verbose=False
            )
        except ValueError as exc:
            self._close_weights()
            raise ModelLoadError(f"llama.cpp could not load {self.weights.path}: {exc}") from exc
        self.pooling = POOLING_NAMES.get(self._ctx.pooling_type(), "unknown")
        if self.pooling in ("none", "unknown"):
            self.close()
            raise ModelLoadError(f"{self.weights.path} has no sequence pooling; cannot embed")
        self.dimensions = int(self.weights.model.n_embd())
        self.max_sequences = int(params.n_seq_max)
        self._batch = _internals.LlamaBatch(
            n_tokens=self.batch_tokens, embd=0, n_seq_max=1, verbose=False
        )

    def _context_params(self) -> llama_cpp.llama_context_params:
        """What llama_cpp.Llama(embedding=True, flash_attn=True) would set, one ubatch wide."""
        params: llama_cpp.llama_context_params = llama_cpp.llama_context_default_params()
        params.n_ctx = params.n_batch = params.n_ubatch = self.batch_tokens
        params.n_threads = params.n_threads_batch = self.threads
        params.embeddings = True
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        params.n_seq_max = min(self.batch_tokens, llama_cpp.llama_max_parallel_sequences())
        params.kv_unified = True
        return params

    @property
    def special_tokens(self) -> int:
        return self.tokenizer.special_tokens

    def embed_batch(self, sequences: Sequence[Sequence[int]]) -> npt.NDArray[np.float32]:
        """Pooled vectors (unnormalized) for sequences given without special tokens.

        The caller packs at most `batch_tokens` tokens (specials included) and `max_sequences`.
        """
        prefix, suffix = self.tokenizer.prefix, self.tokenizer.suffix
        self._batch.reset()
        for seq_id, tokens in enumerate(sequences):
            self._batch.add_sequence([*prefix, *tokens, *suffix], seq_id, True)
        ctx = self._ctx
        ctx.kv_cache_clear()
        # BERT is an encoder: llama_decode would only log a warning and call encode itself.
        code = llama_cpp.llama_encode(ctx.ctx, self._batch.batch)
        if code != 0:
            raise RuntimeError(f"llama_encode returned {code}")
        out = np.empty((len(sequences), self.dimensions), dtype=np.float32)
        for seq_id in range(len(sequences)):
            pointer = llama_cpp.llama_get_embeddings_seq(ctx.ctx, seq_id)
            floats = ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float))
            out[seq_id] = np.ctypeslib.as_array(floats, shape=(self.dimensions,))
        return out

    def close(self) -> None:
        if hasattr(self, "_batch"):
            self._batch.close()
        self._ctx.close()
        self._close_weights()

    def _close_weights(self) -> None:
        if self._owned is not None:
            self._owned.close()
