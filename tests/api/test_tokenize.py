"""/v1/tokenize and /v1/detokenize with the real default model over the real HTTP stack."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.engine.llama import LlamaTokenizer
from app.services.tokenize import detokenize_ids
from benchmarks.live import HOST, live_server
from tests.api.test_chunks import DOCS
from tests.api.test_files import assert_error
from tests.conftest import AppRunner

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


async def test_ids_over_the_request_limit_are_a_400(run_app: AppRunner, settings: Settings) -> None:
    async with run_app(settings.model_copy(update={"max_request_tokens": 1000})) as client:
        ok = await client.post("/v1/detokenize", json={"tokens": [1996] * 1000})
        assert ok.status_code == 200, ok.text
        over = await client.post("/v1/detokenize", json={"tokens": [1996] * 1001})
        assert_error(over, 400, param="tokens")
        assert over.json()["error"]["code"] == "too_many_tokens"
        assert "1001 ids; at most 1000" in over.json()["error"]["message"]


class ClientGone(Exception):
    pass


def test_detokenize_equals_llama_cpp_and_stops_for_a_gone_client(
    model_tokenizer: LlamaTokenizer,
) -> None:
    text = (DOCS / "gpl-3.txt").read_text()
    ids = model_tokenizer.tokenize(text)
    model = SimpleNamespace(name="m", tokenizer=model_tokenizer)
    ours = detokenize_ids(tokens=ids, model=model, max_ids=len(ids))  # type: ignore[arg-type]
    theirs = model_tokenizer._model.detokenize(ids, special=False)
    assert ours.text == theirs.decode("utf-8", errors="replace").strip()
    checks = 0

    def cancelled_after_two() -> None:
        nonlocal checks
        checks += 1
        if checks == 3:
            raise ClientGone  # as anyio.from_thread.check_cancelled raises in the server

    many = ids * 10
    with pytest.raises(ClientGone):
        detokenize_ids(
            tokens=many,
            model=model,  # type: ignore[arg-type]
            max_ids=len(many),
            check=cancelled_after_two,
        )
    assert checks == 3  # stopped at the third check, 8k ids in, not after all of them


def _cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_over(pid: int, seconds: float) -> float:
    before = _cpu_seconds(pid)
    time.sleep(seconds)
    return _cpu_seconds(pid) - before


def test_detokenize_stops_when_its_live_client_disconnects(tmp_path: Path) -> None:
    # A client that gave up after 5 s still cost 82 s of CPU: the decoding thread ran on after
    # the handler was cancelled. Here a real client posts millions of ids over a real socket to
    # a live server and hangs up mid-decode; the server's CPU use must fall to idle at once.
    ids = 6_000_000
    env = {"RAGPREP_MAX_REQUEST_TOKENS": str(ids), "RAGPREP_MAX_JSON_BYTES": str(256 << 20)}
    body = b'{"tokens": [' + b",".join([b"1996"] * ids) + b"]}"
    with live_server(tmp_path / "storage", env=env) as server:
        sock = socket.create_connection((HOST, server.port), timeout=30)
        sock.sendall(
            b"POST /v1/detokenize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        _cpu_over(server.pid, 2.0)  # the body is parsed and the decoding under way
        busy = _cpu_over(server.pid, 1.0)
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        time.sleep(0.5)  # the disconnect is seen and the thread reaches its next check
        after = _cpu_over(server.pid, 1.0)
        started = time.perf_counter()
        small = httpx.post(f"{server.url}/v1/detokenize", json={"tokens": [1996]}, timeout=30)
        took = time.perf_counter() - started
        log = server.log()
    assert busy > 0.3, f"the server was not decoding when the client left ({busy:.2f} s CPU)"
    assert after < 0.25 * busy, f"decoding went on: {after:.2f} s CPU in 1 s after hang-up"
    assert small.status_code == 200 and small.json()["text"] == "the"
    assert took < 1.0
    assert "client left POST /v1/detokenize before the response" in log
