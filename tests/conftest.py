"""Shared fixtures: the real default model; a real app per test with its own database (a SQLite
file, or a fresh PostgreSQL database when RAGPREP_TEST_DATABASE_URL is set) and storage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.engine.llama import LlamaTokenizer
from app.main import create_app
from app.registry.prepare import packaged_default_weights, prepare_default_model
from app.registry.prepare_engine import ensure_ir
from app.registry.specs import OutType
from app.registry.stamp import read_stamp
from tests import pg

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
MODELS = REPO / "models"

AppRunner = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(scope="session")
def default_gguf() -> Path:
    """The default model, built from the packaged weights once (a no-op after `make test`), in
    the type `models prepare` measured fastest here, or the one RAGPREP_DEFAULT_WEIGHT_TYPE pins:
    the whole suite must pass with each (see the README's Development section)."""
    settings = Settings()
    return prepare_default_model(MODELS, settings.default_weight_type, settings.default_engine)


@pytest.fixture(scope="session")
def default_fidelity(default_gguf: Path) -> float:
    """The contract's bound for the precision the default model is served in: the GGUF's weight
    type, or OpenVINO's inference precision when prepare chose OpenVINO."""
    from app.registry.fidelity import min_cosine

    stamp = read_stamp(default_gguf)
    assert stamp is not None and stamp.weight_type, default_gguf
    if stamp.extra.get("engine") == "openvino":
        return min_cosine(str(stamp.extra["precision"]))
    return min_cosine(stamp.weight_type)


@pytest.fixture(scope="session")
def gguf_of_type(tmp_path_factory: pytest.TempPathFactory) -> Callable[[OutType], Path]:
    """The default model converted to a given weight type, once per session per type, from the
    packaged weights: whatever type this CPU prefers, every type gets tested."""
    from app.registry.convert import convert_hf_to_gguf
    from app.registry.prepare import packaged_default_weights

    folder = tmp_path_factory.mktemp("weight-types")
    built: dict[OutType, Path] = {}

    def get(kind: OutType) -> Path:
        if kind not in built:
            built[kind] = convert_hf_to_gguf(
                src=packaged_default_weights(), dst=folder / f"{kind}.gguf", outtype=kind
            )
        return built[kind]

    return get


def another_weight_type(gguf: Path) -> OutType:
    """A weight type `gguf` is not in: converting to it makes a different file. The default's
    type is measured per machine (`models prepare`), so it may be f32 as well as f16."""
    stamp = read_stamp(gguf)
    return "f16" if stamp is not None and stamp.weight_type == "f32" else "f32"


@pytest.fixture(scope="session")
def default_ir(default_gguf: Path) -> Path:
    """The default model's OpenVINO IR (f32 weights), built from the packaged safetensors."""
    return ensure_ir(default_gguf.with_suffix(".xml"), packaged_default_weights())


@pytest.fixture(scope="session")
def model_tokenizer(default_gguf: Path) -> LlamaTokenizer:
    return LlamaTokenizer(default_gguf)


@pytest.fixture(scope="session")
def reference() -> list[dict[str, Any]]:
    """Texts with their sentence-transformers vectors (tests/data/minilm-reference.json)."""
    items: list[dict[str, Any]] = json.loads((DATA / "minilm-reference.json").read_text())["items"]
    return items


def cosine(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """SQLite in the test's storage dir, or a fresh database on the PostgreSQL test server."""
    if pg.server_url() is None:
        (tmp_path / "storage").mkdir(exist_ok=True)
        yield f"sqlite+aiosqlite:///{tmp_path / 'storage' / 'ragprep.db'}"
        return
    with pg.fresh_database() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database; the test skips (with the reason) when there is no server."""
    with pg.fresh_database() as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, default_gguf: Path, database_url: str) -> Settings:
    return Settings(storage_dir=tmp_path / "storage", models_dir=MODELS, database_url=database_url)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and yield a client speaking real HTTP semantics to it."""
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ragprep.test") as client:
            yield client


@pytest.fixture
def run_app() -> AppRunner:
    return running


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(settings) as client:
        yield client
