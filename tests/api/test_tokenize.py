"""/v1/tokenize and /v1/detokenize with the real default model over the real HTTP stack."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_files import assert_error

CLS, SEP = 101, 102


async def tokenize(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/tokenize", json=body)


async def test_counts_match_hugging_face_and_carry_the_special_tokens(
    client: httpx.AsyncClient, reference: list[dict[str, Any]]
) -> None:
    texts = [item["text"] for item in reference]
    response = await tokenize(client, input=texts)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list" and body["model"] == "all-MiniLM-L6-v2"
    assert body["context_length"] == 512
    assert [d["index"] for d in body["data"]] == list(range(len(texts)))
    for item, data in zip(reference, body["data"], strict=True):
        assert len(data["tokens"]) == item["hf_tokens"], item["text"]
        assert data["tokens"][0] == CLS and data["tokens"][-1] == SEP
        assert data["fits"] is (item["hf_tokens"] <= 512)
    total = sum(item["hf_tokens"] for item in reference)
    assert body["usage"] == {"prompt_tokens": total, "total_tokens": total}


async def test_without_special_tokens(client: httpx.AsyncClient) -> None:
    response = await tokenize(client, input="The Eiffel Tower", add_special_tokens=False)
    assert response.status_code == 200, response.text
    tokens = response.json()["data"][0]["tokens"]
    assert tokens == [1996, 1041, 13355, 2884, 3578]  # the e ##iff ##el tower: no [CLS]/[SEP]
    detok = await client.post("/v1/detokenize", json={"tokens": tokens})
    assert detok.status_code == 200, detok.text
    assert detok.json() == {
        "object": "text",
        "model": "all-MiniLM-L6-v2",
        "text": "the eiffel tower",
    }


async def test_counts_agree_with_embeddings_usage(client: httpx.AsyncClient) -> None:
    texts = ["Paris is the capital of France.", "Berlin, too, is a capital: of Germany."]
    counted = (await tokenize(client, input=texts)).json()["usage"]["prompt_tokens"]
    embedded = await client.post("/v1/embeddings", json={"input": texts})
    assert embedded.status_code == 200, embedded.text
    assert embedded.json()["usage"]["prompt_tokens"] == counted


async def test_an_input_over_the_window_is_counted_whole_not_refused(
    client: httpx.AsyncClient,
) -> None:
    long_text = "word " * 600
    response = await tokenize(client, input=[long_text, "short"])
    assert response.status_code == 200, response.text
    first, second = response.json()["data"]
    assert len(first["tokens"]) == 602 and first["fits"] is False
    assert second["fits"] is True
    refused = await client.post("/v1/embeddings", json={"input": long_text})
    assert_error(refused, 400, param="input")


async def test_bad_requests_get_openai_errors(client: httpx.AsyncClient) -> None:
    assert_error(await tokenize(client, input=[]), 400, param="input")
    assert_error(await tokenize(client, input="x", model="no-such-model"), 404, param="model")
    assert_error(await tokenize(client, input="x", add_special_tokens="yes"), 400)
    assert_error(await tokenize(client, input="x", tokenizer="cl100k"), 400)
    assert_error(await tokenize(client, input=["x"] * 2049), 400, param="input")
    surrogate = await client.post(
        "/v1/tokenize",
        content=b'{"input": "x\\ud800"}',
        headers={"content-type": "application/json"},
    )
    assert_error(surrogate, 400, param="input")
    out_of_vocabulary = await client.post("/v1/detokenize", json={"tokens": [101, 30522]})
    assert_error(out_of_vocabulary, 400, param="tokens")
    assert out_of_vocabulary.json()["error"]["code"] == "invalid_token_ids"
    assert_error(await client.post("/v1/detokenize", json={"tokens": []}), 400, param="tokens")
    assert_error(await client.post("/v1/detokenize", json={"tokens": [-1]}), 400, param="tokens")
    assert_error(await client.post("/v1/detokenize", json={"tokens": ["a"]}), 400)
