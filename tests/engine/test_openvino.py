"""The OpenVINO engine on the IR built from safetensors, against sentence-transformers' vectors."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.engine.llama import LlamaTokenizer
from app.engine.openvino import (
    OpenVinoEmbedder,
    OpenVinoModel,
    buckets,
    offered_precisions,
    pad,
)
from app.registry.fidelity import min_cosine
from app.registry.specs import PRECISIONS, Precision
from tests.conftest import cosine


@pytest.fixture(scope="module", params=PRECISIONS)
def embedder(
    request: pytest.FixtureRequest, default_ir: Path, model_tokenizer: LlamaTokenizer
) -> Iterator[OpenVinoEmbedder]:
    precision: Precision = request.param
    if precision not in offered_precisions():
        pytest.skip(f"this CPU has no native {precision} (no AVX512_BF16 or AMX)")
    model = OpenVinoModel(
        default_ir, precision=precision, streams=1, threads_per_stream=1, cache_dir=None
    )
    yield OpenVinoEmbedder(model, tokenizer=model_tokenizer, batch_tokens=2048)
    model.close()


def worst_cosine(vectors: Any, reference: list[dict[str, Any]]) -> tuple[float, str]:
    scores = [cosine(v, item["embedding"]) for v, item in zip(vectors, reference, strict=True)]
    worst = int(np.argmin(scores))
    return scores[worst], reference[worst]["text"]


def test_vectors_keep_the_fidelity_bound_of_their_precision(
    embedder: OpenVinoEmbedder, model_tokenizer: LlamaTokenizer, reference: list[dict[str, Any]]
) -> None:
    sequences = [model_tokenizer.tokenize(item["text"]) for item in reference]
    vectors = embedder.embed_batch(sequences)
    assert vectors.shape == (len(reference), 384)
    assert vectors.dtype == np.float32
    worst, text = worst_cosine(vectors, reference)
    assert worst >= min_cosine(embedder.model.precision), (worst, text)


def test_a_vector_does_not_depend_on_what_it_is_batched_with(
    embedder: OpenVinoEmbedder, model_tokenizer: LlamaTokenizer, reference: list[dict[str, Any]]
) -> None:
    short, long = (model_tokenizer.tokenize(item["text"]) for item in (reference[0], reference[1]))
    longest = max((model_tokenizer.tokenize(item["text"]) for item in reference), key=len)
    alone = embedder.embed_batch([short])[0]
    together = embedder.embed_batch([longest, short, long, short])
    # Padding and masking leave a row's vector as it was alone (the shapes differ, so the
    # kernels' blocking may move the last bits, nothing more).
    assert cosine(alone, together[1]) >= 0.999999
    assert cosine(together[1], together[3]) >= 0.999999


def test_bf16_is_offered_only_where_the_cpu_computes_it() -> None:
    assert offered_precisions(["FP32", "INT8", "BIN"]) == ("f32",)
    assert offered_precisions(["BF16", "FP32", "INT8"]) == ("bf16", "f32")


def test_buckets_keep_padding_small_and_every_row_once() -> None:
    lengths = [5, 500, 7, 30, 6, 480, 33, 8]
    groups = buckets(lengths, budget=1024)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for group in groups:
        width = max(lengths[i] for i in group)
        padded = -(-width // 8) * 8 * len(group)
        assert padded <= 1024
        assert padded <= 1.25 * sum(lengths[i] for i in group) + 8 * len(group)
    assert [lengths[i] for i in groups[0]] == [5, 6, 7, 8]  # short rows share one sub-batch


def test_pad_masks_exactly_the_real_tokens() -> None:
    ids, mask = pad([[101, 7, 102], [101, 102]])
    assert ids.shape == mask.shape == (2, 8)
    assert ids[0, :3].tolist() == [101, 7, 102] and ids[1, :2].tolist() == [101, 102]
    assert mask.sum(axis=1).tolist() == [3, 2]


RACE = """
import sys, threading
from pathlib import Path
from app.engine.llama import LlamaTokenizer
from app.engine.openvino import OpenVinoEmbedder, OpenVinoModel
gguf, ir = Path(sys.argv[1]), Path(sys.argv[2])
tokenizer = LlamaTokenizer(gguf)
model = OpenVinoModel(ir, precision="f32", streams=2, threads_per_stream=1, cache_dir=None)
embedders = [OpenVinoEmbedder(model, tokenizer=tokenizer, batch_tokens=512) for _ in range(2)]
start = threading.Barrier(2)
def run(embedder):
    start.wait()
    embedder.embed_batch([tokenizer.tokenize("two workers start at once")])
threads = [threading.Thread(target=run, args=(e,)) for e in embedders]
for t in threads: t.start()
for t in threads: t.join()
print("ok")
"""


def test_two_workers_starting_at_once_in_a_fresh_process_do_not_deadlock(
    default_gguf: Path, default_ir: Path
) -> None:
    # A fresh interpreter: the race is on the first input copy of the process.
    done = subprocess.run(
        [sys.executable, "-c", RACE, str(default_gguf), str(default_ir)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
