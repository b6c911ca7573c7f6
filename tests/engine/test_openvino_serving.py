"""The OpenVINO engine behind the unchanged HTTP stack: one worker or several, same vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from app.config import Settings
from app.engine import openvino
from app.engine.catalog import load_catalog, warm_up
from app.engine.openvino import offered_precisions
from app.registry.fidelity import min_cosine
from app.registry.prepare import DEFAULT_CONFIG, DEFAULT_GGUF_NAME
from app.registry.stamp import write_stamp
from tests.conftest import AppRunner, cosine


def openvino_models(tmp_path: Path, gguf: Path, ir: Path, precision: str) -> Path:
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    (models / DEFAULT_GGUF_NAME).symlink_to(gguf)
    for suffix in (".xml", ".bin"):
        (models / f"all-MiniLM-L6-v2{suffix}").symlink_to(ir.with_suffix(suffix))
    pin = f"backend: openvino\nprecision: {precision}"
    text = DEFAULT_CONFIG.replace("backend: sentencetransformers", pin)
    (models / "all-MiniLM-L6-v2.yaml").write_text(text)
    return models


async def embed_all(client: httpx.AsyncClient, texts: list[str]) -> np.ndarray[Any, Any]:
    response = await client.post("/v1/embeddings", json={"input": texts})
    assert response.status_code == 200, response.text
    data = sorted(response.json()["data"], key=lambda d: d["index"])
    return np.array([d["embedding"] for d in data], dtype=np.float64)


@pytest.mark.parametrize("precision", ["bf16", "f32"])
async def test_one_worker_or_several_serve_the_same_faithful_vectors(
    run_app: AppRunner,
    settings: Settings,
    tmp_path: Path,
    default_gguf: Path,
    default_ir: Path,
    reference: list[dict[str, Any]],
    precision: str,
) -> None:
    if precision not in offered_precisions():
        pytest.skip(f"this CPU has no native {precision} (no AVX512_BF16 or AMX)")
    models = openvino_models(tmp_path, default_gguf, default_ir, precision)
    texts = [item["text"] for item in reference]
    served = []
    for workers in (1, 2):
        configured = settings.model_copy(
            update={
                "models_dir": models,
                "prepare_default_model": False,
                "workers": workers,
                "threads": 1,
                "embedding_cache": False,
            }
        )
        async with run_app(configured) as client:
            models_body = (await client.get("/v1/models")).json()
            assert models_body["data"][0]["id"] == "all-MiniLM-L6-v2"
            served.append(await embed_all(client, texts))
    one, several = served
    # Several workers batch the texts differently; a row's vector must not depend on that.
    assert np.max(np.abs(one - several)) <= 1e-6
    worst = min(cosine(v, item["embedding"]) for v, item in zip(one, reference, strict=True))
    assert worst >= min_cosine(precision)


def test_warm_up_compiles_ahead_and_the_catalog_takes_that_compilation(
    settings: Settings, tmp_path: Path, default_gguf: Path, default_ir: Path
) -> None:
    models = openvino_models(tmp_path, default_gguf, default_ir, "f32")
    config = models / "all-MiniLM-L6-v2.yaml"  # left to the stamped choice, as by default
    config.write_text(DEFAULT_CONFIG)
    write_stamp(models / DEFAULT_GGUF_NAME, weight_type="f32", engine="openvino", precision="f32")
    write_stamp(models / "all-MiniLM-L6-v2.bin", weight_type="f32", pooling="mean")
    configured = settings.model_copy(
        update={"models_dir": models, "prepare_default_model": False, "workers": 2, "threads": 1}
    )
    warm_up(configured)
    assert len(openvino._ahead) == 1  # started on a thread, not yet taken
    catalog = load_catalog(configured)
    try:
        [model] = catalog
        assert (model.backend, model.precision) == ("openvino", "f32")
        assert not openvino._ahead  # the catalog took it instead of compiling again
    finally:
        catalog.stop()
