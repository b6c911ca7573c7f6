"""The commands' head start: the engine compiled on a thread, taken by the catalog once."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from app.config import Settings
from app.engine import openvino
from app.observability.metrics import Metrics
from app.registry.prepare import DEFAULT_CONFIG, DEFAULT_GGUF_NAME
from app.registry.stamp import write_stamp
from app.services.runtime import open_services
from app.startup import collector_paused, head_start, settle
from tests.engine.test_openvino_serving import openvino_models


def stamped_openvino(tmp_path: Path, gguf: Path, ir: Path) -> Path:
    """A models dir whose default model `models prepare` stamped for OpenVINO f32 (offered on
    every CPU), its YAML leaving the choice to that stamp as by default."""
    models = openvino_models(tmp_path, gguf, ir, "f32")
    (models / "all-MiniLM-L6-v2.yaml").write_text(DEFAULT_CONFIG)
    write_stamp(models / DEFAULT_GGUF_NAME, weight_type="f32", engine="openvino", precision="f32")
    write_stamp(models / "all-MiniLM-L6-v2.bin", weight_type="f32", pooling="mean")
    return models


async def test_the_catalog_takes_the_head_start_compilation_and_leaves_none(
    settings: Settings, tmp_path: Path, default_gguf: Path, default_ir: Path
) -> None:
    models = stamped_openvino(tmp_path, default_gguf, default_ir)
    configured = settings.model_copy(
        update={"models_dir": models, "prepare_default_model": False, "workers": 2, "threads": 1}
    )
    assert not openvino._ahead
    head_start(configured)
    settle()
    assert len(openvino._ahead) == 1  # registered on the thread, compiling or compiled
    async with open_services(configured, Metrics()) as services:
        [model] = services.catalog
        assert (model.backend, model.precision) == ("openvino", "f32")
        # Taken, not compiled again beside it, and no second compilation left running.
        assert not openvino._ahead


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_inside_and_restored_after(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with pytest.raises(RuntimeError), collector_paused():
            assert not gc.isenabled()
            raise RuntimeError("an import failed")
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
