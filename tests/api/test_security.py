"""API keys and CORS over the real app: every /v1 route (and /embeddings) is closed once a key
is configured; /health and the docs stay open."""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute

from app.api.middleware.security import ApiKeys, KeyFileError
from app.config import Settings
from app.main import create_app
from tests.api.test_files import assert_error
from tests.conftest import AppRunner

KEYS = ["key-one", "key-two"]
PROTECTED = [
    ("GET", "/v1/models", None),
    ("GET", "/v1/models/all-MiniLM-L6-v2", None),
    ("GET", "/v1/files", None),
    ("GET", "/v1/files/file_x", None),
    ("GET", "/v1/files/file_x/content", None),
    ("DELETE", "/v1/files/file_x", None),
    ("POST", "/v1/embeddings", {"input": "hello"}),
    ("POST", "/embeddings", {"input": "hello"}),
    ("POST", "/v1/chunks", {"id": "file_x"}),
    ("POST", "/v1/files/file_x/embeddings", {}),
]


# Open on purpose; every other route must answer 401 without a key.
PUBLIC = {"/", "/health", "/static", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_keys": KEYS})


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_unauthorized(response: httpx.Response) -> None:
    assert_error(response, 401)
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong"), {"Authorization": "Basic key-one"}, bearer("")],
    ids=["missing", "wrong", "basic-scheme", "empty"],
)
async def test_every_v1_route_needs_a_key(
    run_app: AppRunner, keyed: Settings, headers: dict[str, str]
) -> None:
    async with run_app(keyed) as client:
        for method, path, body in PROTECTED:
            response = await client.request(method, path, json=body, headers=headers)
            assert_unauthorized(response)


def _flat(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """app.routes, with each included router's routes in place of the router (FastAPI 0.165
    lists an included router as one entry)."""
    for route in routes:
        expand = getattr(route, "effective_route_contexts", None)
        yield from (_flat(list(expand())) if expand is not None else [route])


def _calls(app: FastAPI) -> Iterator[tuple[str, str]]:
    for route in _flat(app.routes):
        path: str = getattr(route, "path", "")
        if path not in PUBLIC:
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                yield method, re.sub(r"\{[^}]*\}", "x", path)


async def test_every_route_but_the_public_ones_needs_a_key(
    run_app: AppRunner, keyed: Settings
) -> None:
    """Derived from the app's own routes: a router mounted without the gate fails here."""
    calls = sorted(set(_calls(create_app(keyed))))
    assert {("POST", "/v1/embeddings"), ("GET", "/metrics")} <= set(calls)
    async with run_app(keyed) as client:
        for method, path in calls:
            response = await client.request(method, path)
            if method == "HEAD":
                assert response.status_code == 401, path
            else:
                assert_unauthorized(response)


async def test_any_configured_key_opens_the_routes(run_app: AppRunner, keyed: Settings) -> None:
    async with run_app(keyed) as client:
        for key in KEYS:
            assert (await client.get("/v1/models", headers=bearer(key))).status_code == 200
            response = await client.post("/embeddings", json={"input": "hi"}, headers=bearer(key))
            assert response.status_code == 200, response.text


async def test_health_and_docs_stay_open(run_app: AppRunner, keyed: Settings) -> None:
    async with run_app(keyed) as client:
        for path in ("/health", "/openapi.json", "/docs"):
            assert (await client.get(path)).status_code == 200, path


async def test_unauthenticated_upload_stores_nothing(run_app: AppRunner, keyed: Settings) -> None:
    async with run_app(keyed) as client:
        response = await client.post("/v1/files", files={"file": ("a.txt", b"secret")})
        assert_unauthorized(response)
        listed = await client.get("/v1/files", headers=bearer("key-two"))
        assert listed.json()["data"] == []
    assert list(keyed.blobs_dir.iterdir()) == []
    assert list(keyed.uploads_dir.iterdir()) == []


async def test_key_file_skips_comments_and_blank_lines(
    run_app: AppRunner, settings: Settings, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys.txt"
    key_file.write_text("# rotated 2024-05\n\n  from-file  \n#not-a-key\n")
    configured = settings.model_copy(update={"api_keys": ["from-env"], "api_key_file": key_file})
    async with run_app(configured) as client:
        for key in ("from-file", "from-env"):
            assert (await client.get("/v1/models", headers=bearer(key))).status_code == 200
        assert_unauthorized(await client.get("/v1/models", headers=bearer("#not-a-key")))


@pytest.mark.parametrize("content", [None, "# only a comment\n\n"], ids=["missing", "empty"])
def test_unusable_key_file_refuses_to_start(
    settings: Settings, tmp_path: Path, content: str | None
) -> None:
    key_file = tmp_path / "keys.txt"
    if content is not None:
        key_file.write_text(content)
    with pytest.raises(KeyFileError):
        create_app(settings.model_copy(update={"api_key_file": key_file}))


def test_keys_and_origins_read_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGPREP_API_KEYS", " sk-alpha , sk-beta,,")
    monkeypatch.setenv("RAGPREP_CORS_ORIGINS", "https://app.example")
    settings = Settings()
    assert settings.api_keys == ["sk-alpha", "sk-beta"]
    assert settings.cors_origins == ["https://app.example"]
    assert "sk-alpha" not in repr(settings)  # keys stay out of logs that print settings


def test_every_key_is_compared_even_after_a_match(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(b)
        return compare(a, b)

    monkeypatch.setattr("app.api.middleware.security.hmac.compare_digest", spy)
    keys = ApiKeys((b"first", b"second", b"third"))
    assert keys.accepts("first")
    assert not keys.accepts("nope")
    assert calls == [b"first", b"second", b"third"] * 2


async def test_cors_is_closed_by_default(client: httpx.AsyncClient) -> None:
    origin = {"Origin": "https://app.example"}
    response = await client.get("/v1/models", headers=origin)
    assert "access-control-allow-origin" not in response.headers
    preflight = await client.options(
        "/v1/embeddings", headers=origin | {"Access-Control-Request-Method": "POST"}
    )
    assert_error(preflight, 405)


async def test_cors_allows_configured_origins_only(run_app: AppRunner, keyed: Settings) -> None:
    configured = keyed.model_copy(update={"cors_origins": ["https://app.example"]})
    async with run_app(configured) as client:
        preflight = await client.options(
            "/v1/embeddings",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        denied = await client.get("/v1/models", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in denied.headers
        allowed = await client.get(
            "/v1/models", headers={"Origin": "https://app.example"} | bearer("key-one")
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
