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

from app.engine import llama as llama_module
from app.engine.llama import LlamaEmbedder, LlamaTokenizer, ModelLoadError, amx_build, model_params
from app.registry.fidelity import min_cosine
from app.registry.specs import OUTTYPES, OutType
from app.registry.stamp import read_stamp
from tests.conftest import cosine

# The same model, same weights: a vector must not depend on the sequences batched beside it,
# whatever the weight type (only rounding order differs).
BATCH_INVARIANCE = 0.99999
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


@pytest.fixture(scope="module", params=OUTTYPES)
def typed_embedder(
    request: pytest.FixtureRequest, gguf_of_type: Any, model_tokenizer: LlamaTokenizer
) -> Iterator[tuple[OutType, LlamaEmbedder]]:
    """Each weight type the converter writes, whichever one this CPU's prepare picked."""
    kind: OutType = request.param
    engine = LlamaEmbedder(
        gguf_of_type(kind), tokenizer=model_tokenizer, threads=THREADS, batch_tokens=BUDGET
    )
    yield kind, engine
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


def assert_faithful(
    vectors: npt.NDArray[np.float32], reference: list[dict[str, Any]], kind: OutType
) -> None:
    """Every reference text within `kind`'s bound of the fidelity contract."""
    assert vectors.shape == (len(reference), 384)
    assert vectors.dtype == np.float32
    normalized = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = [cosine(v, item["embedding"]) for v, item in zip(normalized, reference, strict=True)]
    worst = int(np.argmin(scores))
    assert scores[worst] >= min_cosine(kind), (kind, scores[worst], reference[worst]["text"])


def test_packed_batches_match_sentence_transformers(
    typed_embedder: tuple[OutType, LlamaEmbedder],
    sequences: list[list[int]],
    reference: list[dict[str, Any]],
) -> None:
    kind, embedder = typed_embedder
    groups = packed(sequences, embedder.batch_tokens, embedder.special_tokens)
    assert len(groups) > 1  # the reference set spans several batches at this budget
    vectors = np.empty((len(sequences), embedder.dimensions), dtype=np.float32)
    for group in groups:
        vectors[group] = embedder.embed_batch([sequences[i] for i in group])
    assert_faithful(vectors, reference, kind)


def test_single_sequences_match_sentence_transformers(
    typed_embedder: tuple[OutType, LlamaEmbedder],
    sequences: list[list[int]],
    reference: list[dict[str, Any]],
) -> None:
    kind, embedder = typed_embedder
    vectors = np.vstack([embedder.embed_batch([tokens]) for tokens in sequences])
    assert_faithful(vectors, reference, kind)


def test_the_types_really_differ(
    gguf_of_type: Any, sequences: list[list[int]], model_tokenizer: LlamaTokenizer
) -> None:
    """The per-type tests above test three models, not one file three times."""
    firsts = {}
    for kind in OUTTYPES:
        engine = LlamaEmbedder(
            gguf_of_type(kind), tokenizer=model_tokenizer, threads=THREADS, batch_tokens=BUDGET
        )
        try:
            firsts[kind] = engine.embed_batch([sequences[0]])[0]
        finally:
            engine.close()
    assert not np.array_equal(firsts["f16"], firsts["f32"])
    assert not np.array_equal(firsts["bf16"], firsts["f16"])


def test_batch_neighbours_do_not_change_a_vector(
    typed_embedder: tuple[OutType, LlamaEmbedder], sequences: list[list[int]]
) -> None:
    _, embedder = typed_embedder
    alone = embedder.embed_batch([sequences[0]])[0]
    crowded = embedder.embed_batch([sequences[5], sequences[0], sequences[10]])
    assert cosine(alone, crowded[1]) > BATCH_INVARIANCE
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
    ("ftype", "kind"),
    [
        pytest.param(llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "q8_0", id="q8_0"),
        pytest.param(llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0, "q4_0", id="q4_0"),
    ],
)
def test_quantized_weights_embed(
    tmp_path: Path,
    default_gguf: Path,
    model_tokenizer: LlamaTokenizer,
    sequences: list[list[int]],
    reference: list[dict[str, Any]],
    ftype: int,
    kind: str,
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
    assert len(scores) == 24 and min(scores) >= min_cosine(kind), min(scores)
    assert min(scores) < 1 - 1e-6, "not quantized"


def test_amx_is_read_from_llama_cpp() -> None:
    info = llama_cpp.llama_print_system_info()
    assert amx_build() == (b"AMX_INT8 = 1" in info)


@pytest.mark.parametrize("amx", [True, False], ids=["amx", "no-amx"])
def test_amx_guard_drops_extra_buffers_only_on_amx(amx: bool) -> None:
    assert model_params(vocab_only=False, amx=amx).use_extra_bufts is (not amx)
    assert model_params(vocab_only=True, amx=amx).vocab_only is True


@pytest.mark.parametrize("amx", [True, False], ids=["amx", "no-amx"])
def test_models_embed_faithfully_on_either_branch_of_the_amx_guard(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    default_gguf: Path,
    model_tokenizer: LlamaTokenizer,
    sequences: list[list[int]],
    reference: list[dict[str, Any]],
    amx: bool,
) -> None:
    """Both branches load and embed on any CPU, whichever one this CPU takes. A quantized model
    runs only under the AMX branch: without the guard it would crash an AMX CPU."""
    monkeypatch.setattr(llama_module, "amx_build", lambda: amx)
    stamp = read_stamp(default_gguf)
    assert stamp is not None
    models = {stamp.weight_type: default_gguf}
    if amx:
        models["q8_0"] = quantize(
            default_gguf, tmp_path / "q8.gguf", llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
        )
    for kind, path in models.items():
        engine = LlamaEmbedder(
            path, tokenizer=model_tokenizer, threads=THREADS, batch_tokens=BUDGET
        )
        try:
            vectors = np.vstack([engine.embed_batch([tokens]) for tokens in sequences[:16]])
        finally:
            engine.close()
        normalized = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        worst = min(cosine(v, r["embedding"]) for v, r in zip(normalized, reference, strict=False))
        assert worst >= min_cosine(kind), (kind, worst)
