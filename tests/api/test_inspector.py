"""The chunk inspector's files as served: the page at / and its assets, without an API key."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from app.api.routes.inspector import STATIC_DIR
from app.config import Settings
from tests.conftest import AppRunner


@pytest.fixture
def keyed_settings(tmp_path: Path, default_gguf: Path) -> Settings:
    return Settings(
        storage_dir=tmp_path / "storage", models_dir=default_gguf.parent, api_keys=["k"]
    )


async def test_page_loads_without_a_key_while_the_api_needs_one(
    run_app: AppRunner, keyed_settings: Settings
) -> None:
    async with run_app(keyed_settings) as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert '<script type="module" src="/static/inspector.js">' in page.text
        assert (await client.get("/v1/files")).status_code == 401


def referenced_assets(html: str) -> list[str]:
    """What the page loads: its own src/href, then each script's relative imports."""
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    for script in [a for a in assets if a.endswith(".js")]:
        source = (STATIC_DIR / Path(script).name).read_text(encoding="utf-8")
        assets += [f"/static/{name}" for name in re.findall(r'from "\./([\w.]+)"', source)]
    return assets


async def test_every_asset_the_page_loads_is_served_with_its_type(
    client: httpx.AsyncClient,
) -> None:
    assets = referenced_assets((await client.get("/")).text)
    assert {"/static/inspector.css", "/static/inspector.js", "/static/api.js"} <= set(assets)
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
        kind = response.headers["content-type"]
        if asset.endswith(".js"):
            # RFC 9239 prefers text/javascript; older mimetypes tables say application/.
            assert kind.split(";")[0] in {"text/javascript", "application/javascript"}, kind
        else:
            assert kind.startswith("text/css"), kind


async def test_page_is_not_an_api_operation(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/" not in paths
    assert not [p for p in paths if p.startswith("/static")]
    missing = await client.get("/static/nope.js")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_document_text_never_goes_through_html_parsing() -> None:
    """Document text, file names and API messages go in as text nodes only."""
    for script in STATIC_DIR.glob("*.js"):
        source = script.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in source, f"{script.name} uses {sink}"
