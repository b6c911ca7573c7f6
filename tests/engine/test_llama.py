"""LlamaTokenizer and LlamaEmbedder against sentence-transformers, on the real default model."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
import numpy.typing as npt
import pytest

from app.engine.llama import LlamaEmbedder, LlamaTokenizer, ModelLoadError
from tests.conftest import cosine

FIDELITY = 0.99999
BUDGET = 1024
# One thread: the test machine's two cores are shared, and ggml's spinning thread pool stalls
# badly when another process holds one of them.
THREADS = 1


@pytest.fixture(scope="module")
def embedder(default_gguf: Path, model_tokenizer: LlamaTokenizer) -> Iterator[LlamaEmbedder]:
    engine = LlamaEmbedder(
        default_gguf, tokenizer=model_tokenizer, threads=THREADS, batch_tokens=BUDGET
    )
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def sequences(reference: list[dict[str, Any]], model_tokenizer: LlamaTokenizer) -> list[list[int]]:
    return [model_tokenizer.tokenize(item["text"]) for item in reference]


def packed(sequences: Sequence[Sequence[int]], budget: int, extra: int) -> list[list[int]]:
    """Indices of `sequences`, shortest first, grouped so each group costs at most `budget`."""
    groups: list[list[int]] = [[]]
    used = 0
    for index in sorted(range(len(sequences)), key=lambda i: len(sequences[i])):
        cost = len(sequences[index]) + extra
        if groups[-1] and used + cost > budget:
            groups.append([])
            used = 0
        groups[-1].append(index)
        used += cost
    return groups


def assert_faithful(vectors: npt.NDArray[np.float32], reference: list[dict[str, Any]]) -> None:
    assert vectors.shape == (len(reference), 384)
    assert vectors.dtype == np.float32
    normalized = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = [cosine(v, item["embedding"]) for v, item in zip(normalized, reference, strict=True)]
    worst = int(np.argmin(scores))
    assert scores[worst] >= FIDELITY, (scores[worst], reference[worst]["text"])


def test_packed_batches_match_sentence_transformers(
    embedder: LlamaEmbedder, sequences: list[list[int]], reference: list[dict[str, Any]]
) -> None:
    groups = packed(sequences, embedder.batch_tokens, embedder.special_tokens)
    assert len(groups) > 1  # the reference set spans several batches at this budget
    vectors = np.empty((len(sequences), embedder.dimensions), dtype=np.float32)
    for group in groups:
        vectors[group] = embedder.embed_batch([sequences[i] for i in group])
    assert_faithful(vectors, reference)


def test_single_sequences_match_sentence_transformers(
    embedder: LlamaEmbedder, sequences: list[list[int]], reference: list[dict[str, Any]]
) -> None:
    vectors = np.vstack([embedder.embed_batch([tokens]) for tokens in sequences])
    assert_faithful(vectors, reference)


def test_batch_neighbours_do_not_change_a_vector(
    embedder: LlamaEmbedder, sequences: list[list[int]]
) -> None:
    alone = embedder.embed_batch([sequences[0]])[0]
    crowded = embedder.embed_batch([sequences[5], sequences[0], sequences[10]])
    assert cosine(alone, crowded[1]) > FIDELITY
    assert cosine(crowded[0], crowded[2]) < 0.99


def test_embedder_properties(embedder: LlamaEmbedder) -> None:
    assert embedder.dimensions == 384
    assert embedder.pooling == "mean"
    assert embedder.special_tokens == 2
    assert embedder.batch_tokens == BUDGET
    assert embedder.max_sequences >= 1


def test_token_counts_match_hugging_face(
    model_tokenizer: LlamaTokenizer, reference: list[dict[str, Any]]
) -> None:
    special = model_tokenizer.special_tokens
    for item in reference:
        count = model_tokenizer.count(item["text"])
        assert count + special == item["hf_tokens"], item["text"]
        assert count == len(model_tokenizer.tokenize(item["text"]))


def test_tokenizer_properties(model_tokenizer: LlamaTokenizer) -> None:
    assert model_tokenizer.special_tokens == 2
    assert model_tokenizer.window == 512
    assert model_tokenizer.vocab_size == 30522
    assert model_tokenizer.prefix == [101] and model_tokenizer.suffix == [102]  # [CLS], [SEP]
    assert model_tokenizer.count("") == 0 and model_tokenizer.tokenize("") == []


def test_detokenize_round_trips_lowercased_words(model_tokenizer: LlamaTokenizer) -> None:
    tokens = model_tokenizer.tokenize("The Eiffel Tower was built in 1889")
    assert model_tokenizer.detokenize(tokens) == "the eiffel tower was built in 1889"


def test_window_override(default_gguf: Path) -> None:
    small = LlamaTokenizer(default_gguf, window=128)
    assert small.window == 128
    assert LlamaTokenizer(default_gguf, window=4096).window == 512  # never above the trained


def test_embedder_budget_is_at_least_one_window(default_gguf: Path) -> None:
    tokenizer = LlamaTokenizer(default_gguf, window=128)
    embedder = LlamaEmbedder(default_gguf, tokenizer=tokenizer, threads=THREADS, batch_tokens=16)
    try:
        assert embedder.batch_tokens == 128
        full = embedder.embed_batch([[1996] * 126])  # 126 + [CLS] + [SEP] fills the window
        assert full.shape == (1, 384) and np.isfinite(full).all()
    finally:
        embedder.close()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("half", id="truncated-gguf"),
        pytest.param("header", id="gguf-header-only"),
        pytest.param(b"this is not a model\n" * 64, id="not-gguf"),
    ],
)
def test_bad_files_raise_model_load_error(
    tmp_path: Path, default_gguf: Path, model_tokenizer: LlamaTokenizer, content: str | bytes
) -> None:
    path = tmp_path / "broken.gguf"
    if content == "half":
        size = default_gguf.stat().st_size
        with default_gguf.open("rb") as source:
            path.write_bytes(source.read(size // 2))
    elif content == "header":
        with default_gguf.open("rb") as source:
            path.write_bytes(source.read(4096))
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    with pytest.raises(ModelLoadError):
        LlamaTokenizer(path)
    with pytest.raises(ModelLoadError):
        LlamaEmbedder(path, tokenizer=model_tokenizer, threads=THREADS, batch_tokens=512)


def test_missing_file_raises_model_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError):
        LlamaTokenizer(tmp_path / "absent.gguf")


def quantize(source: Path, target: Path, ftype: int) -> Path:
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    code = llama_cpp.llama_model_quantize(
        str(source).encode(), str(target).encode(), ctypes.byref(params)
    )
    assert code == 0, code
    return target


@pytest.mark.parametrize(
    ("ftype", "floor"),
    [
        # Measured here: min cosine 0.9993 (Q8_0) and 0.953 (Q4_0) over the first 24 texts.
        pytest.param(llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, 0.999, id="q8_0"),
        pytest.param(llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0, 0.9, id="q4_0"),
    ],
)
def test_quantized_weights_embed(
    tmp_path: Path,
    default_gguf: Path,
    model_tokenizer: LlamaTokenizer,
    sequences: list[list[int]],
    reference: list[dict[str, Any]],
    ftype: int,
    floor: float,
) -> None:
    """Users bring quantized GGUFs; on AMX machines llama.cpp's AMX repack of them segfaulted."""
    path = quantize(default_gguf, tmp_path / "quantized.gguf", ftype)
    embedder = LlamaEmbedder(path, tokenizer=model_tokenizer, threads=THREADS, batch_tokens=BUDGET)
    try:
        vectors = np.vstack([embedder.embed_batch(sequences[i : i + 8]) for i in range(0, 24, 8)])
    finally:
        embedder.close()
    normalized = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = [cosine(v, item["embedding"]) for v, item in zip(normalized, reference, strict=False)]
    assert len(scores) == 24 and min(scores) >= floor, min(scores)
    assert min(scores) < 1 - 1e-6, "not quantized"
