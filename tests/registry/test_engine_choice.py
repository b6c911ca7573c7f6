"""The engine by measurement: the choice rule on fake figures, and prepare's pins and stamp."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.engine import openvino as openvino_engine
from app.engine.catalog import load_catalog, warm_up
from app.engine.openvino import offered_precisions
from app.registry.engine_choice import EngineMeasurement, decide_engine
from app.registry.prepare import DEFAULT_CONFIG, prepare_default
from app.registry.specs import RegistryError
from app.registry.stamp import read_stamp, write_stamp


def m(backend: Any, precision: str, speed: float, fidelity: float = 0.999995) -> EngineMeasurement:
    return EngineMeasurement(backend, precision, speed, fidelity)


def test_fastest_faithful_engine_wins_and_says_why() -> None:
    choice = decide_engine(
        [m("llama", "bf16", 3500), m("openvino", "bf16", 26000), m("openvino", "f32", 15000)]
    )
    assert (choice.backend, choice.precision) == ("openvino", "bf16")
    assert "openvino bf16 26,000 tokens/s" in choice.reason
    assert "llama bf16 3,500 tokens/s" in choice.reason


def test_each_precision_is_held_to_its_own_bound() -> None:
    # 0.99995 keeps bf16's bound (0.9999) but not f32's (0.99999).
    figures = [m("llama", "f16", 4000), m("openvino", "f32", 15000, 0.99995)]
    choice = decide_engine(figures)
    assert (choice.backend, choice.precision) == ("llama", "f16")
    assert "below the fidelity bound: openvino f32" in choice.reason
    bf16 = decide_engine([m("llama", "f16", 4000), m("openvino", "bf16", 9000, 0.99995)])
    assert bf16.backend == "openvino"


def test_llama_wins_when_it_is_faster() -> None:
    choice = decide_engine([m("llama", "f32", 9000), m("openvino", "f32", 8000)])
    assert (choice.backend, choice.precision) == ("llama", "f32")


def test_no_faithful_candidate_keeps_llama() -> None:
    choice = decide_engine([m("llama", "bf16", 3000, 0.99), m("openvino", "bf16", 9000, 0.98)])
    assert (choice.backend, choice.precision) == ("llama", "bf16")
    assert "no candidate" in choice.reason


def pinned(tmp_path: Path, lines: str) -> Path:
    config = tmp_path / "all-MiniLM-L6-v2.yaml"
    text = DEFAULT_CONFIG.replace("# weight_type: bf16", f"weight_type: f32\n{lines}")
    config.write_text(text.replace("backend: sentencetransformers\n", ""))
    return config


def test_backend_llama_pin_builds_no_ir_and_serves_llama(tmp_path: Path) -> None:
    pinned(tmp_path, "backend: llama-cpp")
    prepared = prepare_default(tmp_path)
    assert prepared.engine is not None and prepared.engine.backend == "llama"
    assert not (tmp_path / "all-MiniLM-L6-v2.xml").exists()
    catalog = load_catalog(Settings(storage_dir=tmp_path / "storage", models_dir=tmp_path))
    try:
        [model] = catalog
        assert (model.backend, model.precision) == ("llama", "f32")
    finally:
        catalog.stop()


def test_backend_openvino_pin_serves_openvino_in_the_pinned_precision(tmp_path: Path) -> None:
    pinned(tmp_path, "backend: openvino\nprecision: f32")
    prepared = prepare_default(tmp_path)
    assert prepared.engine is not None
    assert (prepared.engine.backend, prepared.engine.precision) == ("openvino", "f32")
    stamp = read_stamp(tmp_path / "all-MiniLM-L6-v2.bin")
    assert stamp is not None and stamp.extra["pooling"] == "mean"
    catalog = load_catalog(Settings(storage_dir=tmp_path / "storage", models_dir=tmp_path))
    try:
        [model] = catalog
        assert (model.backend, model.precision) == ("openvino", "f32")
        assert model.fingerprint == stamp.sha256  # keyed by the IR's weights
    finally:
        catalog.stop()


def test_bf16_pin_on_a_cpu_without_it_is_a_clear_error(tmp_path: Path) -> None:
    if "bf16" in offered_precisions():
        pytest.skip("this CPU computes bf16 natively; the refusal needs one that does not")
    pinned(tmp_path, "backend: openvino\nprecision: bf16")
    with pytest.raises(RegistryError, match="AVX512_BF16 or AMX"):
        prepare_default(tmp_path)


def test_unpinned_engine_is_measured_once_and_stamped(tmp_path: Path) -> None:
    config = tmp_path / "all-MiniLM-L6-v2.yaml"
    config.write_text(DEFAULT_CONFIG.replace("# weight_type: bf16", "weight_type: f32"))
    first = prepare_default(tmp_path)
    assert first.engine is not None
    assert "llama f32" in first.engine.reason
    for precision in offered_precisions():
        assert f"openvino {precision}" in first.engine.reason
    stamp = read_stamp(first.path)
    assert stamp is not None
    assert (stamp.extra["engine"], stamp.extra["precision"]) == (
        first.engine.backend,
        first.engine.precision,
    )
    again = prepare_default(tmp_path)
    assert again.engine == first.engine and not again.built
    catalog = load_catalog(Settings(storage_dir=tmp_path / "storage", models_dir=tmp_path))
    try:
        [model] = catalog
        assert (model.backend, model.precision) == (first.engine.backend, first.engine.precision)
    finally:
        catalog.stop()


def test_default_engine_setting_pins_the_engine_and_stamps_it(tmp_path: Path) -> None:
    config = tmp_path / "all-MiniLM-L6-v2.yaml"
    config.write_text(DEFAULT_CONFIG.replace("# weight_type: bf16", "weight_type: f32"))
    for pin, expected in (("openvino-f32", ("openvino", "f32")), ("llama", ("llama", "f32"))):
        prepared = prepare_default(tmp_path, engine=pin)
        assert prepared.engine is not None
        assert (prepared.engine.backend, prepared.engine.precision) == expected
        assert "RAGPREP_DEFAULT_ENGINE" in prepared.engine.reason
        stamp = read_stamp(prepared.path)
        assert stamp is not None
        assert (stamp.extra["engine"], stamp.extra["precision"]) == expected
        settings = Settings(storage_dir=tmp_path / "storage", models_dir=tmp_path)
        catalog = load_catalog(settings.model_copy(update={"default_engine": pin}))
        try:
            [model] = catalog
            assert (model.backend, model.precision) == expected
        finally:
            catalog.stop()


def chosen_elsewhere(gguf: Path) -> None:
    """Stamp the engine choice that a models dir prepared on a CPU with native bf16 carries."""
    stamp = read_stamp(gguf)
    assert stamp is not None
    write_stamp(
        gguf,
        weight_type=stamp.weight_type,
        reason=stamp.reason,
        engine="openvino",
        precision="bf16",
        engine_reason="measured on another CPU",
    )


@pytest.fixture
def prepared_elsewhere(tmp_path: Path) -> Path:
    """A models dir whose default model was prepared here (its engine pinned, not measured),
    then stamped OpenVINO bf16."""
    config = tmp_path / "all-MiniLM-L6-v2.yaml"
    config.write_text(DEFAULT_CONFIG.replace("# weight_type: bf16", "weight_type: f32"))
    chosen_elsewhere(prepare_default(tmp_path, engine="openvino-f32").path)
    return tmp_path


def this_cpu(monkeypatch: pytest.MonkeyPatch, *capabilities: str) -> None:
    """What OpenVINO reports of the CPU; both branches run on any machine."""
    monkeypatch.setattr(openvino_engine, "cpu_capabilities", lambda: capabilities)


def test_a_bf16_choice_from_another_cpu_is_measured_again_where_bf16_is_not_native(
    prepared_elsewhere: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    this_cpu(monkeypatch, "FP32", "INT8", "BIN")
    with caplog.at_level(logging.INFO):
        again = prepare_default(prepared_elsewhere)
    assert "chosen on another CPU and is not native here; measuring again" in caplog.text
    assert again.engine is not None and again.engine.precision != "bf16"
    assert f"serving all-MiniLM-L6-v2 with {again.engine.backend} " in caplog.text
    # Measured here: llama.cpp and OpenVINO f32 timed, bf16 not offered.
    assert "llama f32" in again.engine.reason and "openvino f32" in again.engine.reason
    assert "openvino bf16" not in again.engine.reason
    stamp = read_stamp(again.path)
    assert stamp is not None
    assert (stamp.extra["engine"], stamp.extra["precision"]) == (
        again.engine.backend,
        again.engine.precision,
    )


def test_a_bf16_choice_from_another_cpu_is_kept_where_bf16_is_native(
    prepared_elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    this_cpu(monkeypatch, "BF16", "FP32", "INT8")
    kept = prepare_default(prepared_elsewhere)
    assert kept.engine is not None
    assert (kept.engine.backend, kept.engine.precision) == ("openvino", "bf16")
    assert kept.engine.reason == "measured on another CPU"


def test_a_catalog_not_preparing_serves_f32_where_the_stamped_bf16_is_not_native(
    prepared_elsewhere: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Replicas sharing a models dir prepared elsewhere: the label (and so the embedding cache
    key) says what this CPU computes, never bf16 over f32 vectors."""
    this_cpu(monkeypatch, "FP32", "INT8", "BIN")
    settings = Settings(
        storage_dir=prepared_elsewhere / "storage",
        models_dir=prepared_elsewhere,
        prepare_default_model=False,
    )
    warm_up(settings)
    assert not openvino_engine._ahead  # no compile started for a choice prepare may change
    with caplog.at_level(logging.WARNING):
        catalog = load_catalog(settings)
    try:
        [model] = catalog
        assert (model.backend, model.precision) == ("openvino", "f32")
    finally:
        catalog.stop()
    assert "bf16, as stamped on another CPU, is not native on this one" in caplog.text
