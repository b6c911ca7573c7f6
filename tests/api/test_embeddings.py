"""/v1/embeddings against the real default model over the real HTTP stack."""

from __future__ import annotations

import asyncio
import base64
from typing import Any, cast

import httpx
import numpy as np
import openai
import pytest

from app.config import Settings
from app.engine.tiktoken_tokenizer import TiktokenTokenizer
from tests.api.test_files import assert_error
from tests.conftest import AppRunner, cosine

SEED_MODEL = "all-MiniLM-L6-v2-ggml-model-f16"
TEXTS = [
    "Paris is the capital of France.",
    "The Eiffel Tower was built in 1889.",
    "Berlin is the capital of Germany.",
]


async def embed(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/embeddings", json=body)


async def vectors(client: httpx.AsyncClient, inputs: Any, **body: Any) -> list[list[float]]:
    response = await embed(client, input=inputs, **body)
    assert response.status_code == 200, response.text
    return [item["embedding"] for item in response.json()["data"]]


async def test_fidelity_against_sentence_transformers(
    client: httpx.AsyncClient, reference: list[dict[str, Any]], default_fidelity: float
) -> None:
    response = await embed(client, input=[item["text"] for item in reference], model=SEED_MODEL)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list" and body["model"] == SEED_MODEL
    assert [d["index"] for d in body["data"]] == list(range(len(reference)))
    scores = [
        cosine(d["embedding"], r["embedding"]) for d, r in zip(body["data"], reference, strict=True)
    ]
    assert min(scores) >= default_fidelity, min(scores)
    expected_tokens = sum(item["hf_tokens"] for item in reference)
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] == expected_tokens


async def test_vectors_are_unit_length_and_single_string_works(client: httpx.AsyncClient) -> None:
    [vector] = await vectors(client, TEXTS[0])
    assert len(vector) == 384
    assert abs(np.linalg.norm(vector) - 1.0) < 1e-5


async def test_base64_equals_float(client: httpx.AsyncClient) -> None:
    floats = await vectors(client, TEXTS)
    encoded = await vectors(client, TEXTS, encoding_format="base64")
    for plain, packed in zip(floats, encoded, strict=True):
        decoded = np.frombuffer(base64.b64decode(cast(str, packed)), dtype="<f4")
        # Exact: the JSON floats are written at float32 precision, not rounded below it.
        assert np.array_equal(decoded, np.asarray(plain, dtype=np.float32))


async def test_floats_are_written_at_float32_precision(client: httpx.AsyncClient) -> None:
    """Each value is the shortest decimal of its float32 (at most 9 significant digits), not the
    17 of a float64, so responses are about half the bytes for clients to read."""
    response = await embed(client, input=TEXTS[:1])
    assert response.status_code == 200, response.text
    raw = response.text.split('"embedding":[', 1)[1].split("]", 1)[0].split(",")
    assert len(raw) == 384
    for text in raw:
        digits = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
        assert len(digits) <= 9, text
    assert response.json()["data"][0]["embedding"] == [float(text) for text in raw]


async def test_dimensions_truncates_and_renormalizes(client: httpx.AsyncClient) -> None:
    [full] = await vectors(client, TEXTS[:1])
    [short] = await vectors(client, TEXTS[:1], dimensions=64)
    assert len(short) == 64
    assert abs(np.linalg.norm(short) - 1.0) < 1e-5
    assert cosine(short, full[:64]) > 0.99999
    assert_error(await embed(client, input="x", dimensions=385), 400, param="dimensions")
    assert_error(await embed(client, input="x", dimensions=0), 400, param="dimensions")


async def test_cl100k_token_ids_equal_text(client: httpx.AsyncClient) -> None:
    cl100k = TiktokenTokenizer(window=8192)
    ids = [cl100k.tokenize(text) for text in TEXTS]
    from_text = await vectors(client, TEXTS)
    from_ids = await vectors(client, ids)
    from_one_list = await vectors(client, ids[0])
    for a, b in zip(from_text, from_ids, strict=True):
        assert cosine(a, b) > 0.99999
    assert cosine(from_one_list[0], from_text[0]) > 0.99999


async def test_invalid_token_ids_are_400(client: httpx.AsyncClient) -> None:
    assert_error(await embed(client, input=[[100256]]), 400, param="input")
    assert_error(await embed(client, input=[-1, 5]), 400, param="input")


async def test_localai_path_and_default_model(client: httpx.AsyncClient) -> None:
    response = await client.post("/embeddings", json={"input": TEXTS[0]})
    assert response.status_code == 200
    assert response.json()["model"] == "all-MiniLM-L6-v2"


async def test_official_openai_client(client: httpx.AsyncClient) -> None:
    expected = await vectors(client, TEXTS)
    transport = client._transport  # the same in-process ASGI app
    async with httpx.AsyncClient(transport=transport, base_url="http://ragprep.test/v1") as http:
        sdk = openai.AsyncOpenAI(
            api_key="unused",
            base_url="http://ragprep.test/v1",
            # openai annotates httpx2's client; it drives an httpx client the same way.
            http_client=http,  # type: ignore[arg-type]
        )
        result = await sdk.embeddings.create(model=SEED_MODEL, input=TEXTS)  # base64 by default
        as_float = await sdk.embeddings.create(
            model=SEED_MODEL, input=TEXTS, encoding_format="float"
        )
    assert [d.index for d in result.data] == [0, 1, 2]
    for got, float_got, want in zip(result.data, as_float.data, expected, strict=True):
        assert np.allclose(got.embedding, want, atol=1e-6)
        assert np.allclose(float_got.embedding, want, atol=1e-6)
    assert result.usage.prompt_tokens > 0


async def test_concurrent_requests_get_their_own_vectors(client: httpx.AsyncClient) -> None:
    requests = [
        [f"Request {r} sentence {i} about topic {r * i}." for i in range(r % 5 + 1)]
        for r in range(50)
    ]
    solo = [await vectors(client, texts) for texts in requests[:10]]
    together = await asyncio.gather(*(vectors(client, texts) for texts in requests))
    for expected, got in zip(solo, together[:10], strict=True):
        assert len(got) == len(expected)
        for a, b in zip(expected, got, strict=True):
            assert cosine(a, b) > 0.99999
    for texts, got in zip(requests, together, strict=True):
        assert len(got) == len(texts)
    # Distinct texts must give distinct vectors: a mix-up between requests would repeat one.
    flat = [tuple(np.round(v, 4)) for got in together for v in got]
    assert len(set(flat)) == len(flat)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": ""}, "input"),
        ({"input": []}, "input"),
        ({"input": [[]]}, "input"),
        ({"input": ["ok", ""]}, "input"),
        ({"input": 5}, "input"),
        ({"input": [1, "a"]}, "input"),
        ({"input": None}, "input"),
        ({}, "input"),
        ({"input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"input": "x", "truncate": "maybe"}, "truncate"),
    ],
)
async def test_bad_input_is_400(
    client: httpx.AsyncClient, body: dict[str, Any], param: str
) -> None:
    assert_error(await client.post("/v1/embeddings", json=body), 400, param=param)


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/embeddings", content=b'{"input": ', headers={"content-type": "application/json"}
    )
    assert_error(response, 400)


async def test_too_many_inputs(client: httpx.AsyncClient) -> None:
    assert_error(await embed(client, input=["a"] * 2049), 400, param="input")
    assert len(await vectors(client, ["a"] * 2048)) == 2048


async def test_over_long_input_names_index_and_limit(client: httpx.AsyncClient) -> None:
    long_text = "word " * 600
    response = await embed(client, input=["short", long_text])
    assert_error(response, 400, param="input")
    message = response.json()["error"]["message"]
    assert "input[1]" in message and "602" in message and "512" in message
    assert response.json()["error"]["code"] == "context_length_exceeded"
    truncated = await embed(client, input=["short", long_text], truncate=True)
    assert truncated.status_code == 200
    assert truncated.json()["usage"]["prompt_tokens"] == 512 + 3


async def test_unknown_model_is_404_listing_names(client: httpx.AsyncClient) -> None:
    response = await embed(client, input="x", model="text-embedding-3-small")
    assert_error(response, 404, param="model")
    assert "all-MiniLM-L6-v2" in response.json()["error"]["message"]


async def test_request_larger_than_the_queue_is_served_not_refused_forever(
    run_app: AppRunner, settings: Settings
) -> None:
    # 429 means "retry later"; a request bigger than the whole queue must be able to succeed.
    # (Full-queue 429s under concurrent load: tests/api/test_limits.py.)
    async with run_app(settings.model_copy(update={"queue_size": 4})) as client:
        response = await embed(client, input=["a", "b", "c", "d", "e"])
        assert response.status_code == 200, response.text
        assert len(response.json()["data"]) == 5
