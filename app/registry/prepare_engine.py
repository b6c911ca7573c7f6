"""Which engine embeds a model (llama.cpp or OpenVINO, and in which precision), and its IR.

`models prepare` decides once for the default model: pinned by the YAML (`backend: llama-cpp`
or `backend: openvino`, optionally `precision: bf16|f32`), or measured (`backend:
sentencetransformers`, the default). The decision is kept in the GGUF's stamp, so a start-up
reads it with one stat() and never measures. The IR is built from safetensors, without torch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.registry.specs import (
    PRECISIONS,
    Backend,
    ModelSpec,
    OutType,
    Precision,
    RegistryError,
    backend_of,
    precision_of,
    read_yaml,
)
from app.registry.stamp import Stamp, read_stamp, write_stamp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineDecision:
    backend: Backend
    precision: str  # GGUF weight type for llama.cpp, inference precision for OpenVINO
    reason: str
    # The stamp named a precision this CPU does not compute natively; f32 is served instead.
    stand_in: bool = False


def ir_weights(ir: Path) -> Path:
    return ir.with_suffix(".bin")


def ensure_ir(ir: Path, src: Path) -> Path:
    """`ir` built from the safetensors folder `src` unless a stamped build newer than it is
    there; the stamp (on the .bin, which holds the weights) also keeps the pooling mode."""
    if _ir_fresh(ir, src):
        return ir
    from app.registry.convert import ConversionError, pooling_mode
    from app.registry.openvino_ir import build_ir

    log.info("building OpenVINO IR %s from %s", ir, src)
    try:
        build_ir(src=src, dst=ir)
        pooling = pooling_mode(src)
    except ConversionError as exc:
        raise RegistryError(str(exc)) from exc
    write_stamp(ir_weights(ir), weight_type="f32", reason=f"built from {src}", pooling=pooling)
    return ir


def _ir_fresh(ir: Path, src: Path) -> bool:
    stamp = read_stamp(ir_weights(ir))
    if stamp is None or not ir.is_file():
        return False
    newest = max(p.stat().st_mtime for p in src.rglob("*") if p.is_file())
    return ir_weights(ir).stat().st_mtime >= newest


def ir_pooling(ir: Path) -> str:
    stamp = read_stamp(ir_weights(ir))
    return str(stamp.extra.get("pooling", "mean")) if stamp is not None else "mean"


def default_precision() -> Precision:
    from app.engine.openvino import offered_precisions

    return offered_precisions()[0]


def check_precision(precision: Precision, source: Path) -> Precision:
    from app.engine.openvino import offered_precisions

    if precision not in offered_precisions():
        raise RegistryError(
            f"{source}: precision {precision} needs a CPU with AVX512_BF16 or AMX, which this "
            "one lacks; use precision: f32 or remove the line"
        )
    return precision


def native_here(precision: str) -> bool:
    """Whether this CPU computes OpenVINO's `precision` natively. A choice stamped on another
    machine (a models dir copied from it) may name bf16 where this CPU has none: OpenVINO then
    runs f32 without a word, and a bf16 label would key f32 vectors in the embedding cache."""
    if precision == "f32":
        return True
    from app.engine.openvino import offered_precisions

    return precision in offered_precisions()


def engine_for(spec: ModelSpec) -> EngineDecision:
    """The engine a spec is served with: pinned, or what `models prepare` stamped."""
    if spec.backend == "openvino":
        precision = check_precision(spec.precision or default_precision(), spec.source)
        return EngineDecision("openvino", precision, f"pinned by backend in {spec.source.name}")
    stamp = read_stamp(spec.gguf)
    weight_type = stamp.weight_type if stamp is not None else (spec.weight_type or "")
    if spec.backend == "auto" and stamp is not None and stamp.extra.get("engine") == "openvino":
        if read_stamp(ir_weights(spec.ir)) is not None and spec.ir.is_file():
            return _stamped_openvino(stamp)
        log.warning(
            "%s: OpenVINO IR %s is missing; serving with llama.cpp until `ragprep "
            "models prepare` rebuilds it",
            spec.name,
            spec.ir,
        )
    return EngineDecision("llama", weight_type, "llama.cpp")


def _stamped_openvino(stamp: Stamp) -> EngineDecision:
    chosen = str(stamp.extra.get("precision", "f32"))
    if native_here(chosen):
        return EngineDecision("openvino", chosen, str(stamp.extra.get("engine_reason", "")))
    reason = f"{chosen}, as stamped on another CPU, is not native on this one"
    return EngineDecision("openvino", "f32", reason, stand_in=True)


def decide_default_engine(
    config: Path,
    gguf: Path,
    weights: Callable[[], Path],
    *,
    weight_type: OutType,
    pin: str | None = None,
) -> EngineDecision:
    """For the default model: build the IR if OpenVINO may serve it, and measure when the YAML
    leaves the choice to this machine (unless `pin`, RAGPREP_DEFAULT_ENGINE, names it); a
    choice already stamped is kept where this CPU computes its precision natively."""
    raw = read_yaml(config)
    backend, precision_pin = backend_of(raw), precision_of(raw, config)
    if backend == "llama":
        return EngineDecision("llama", weight_type, f"pinned by backend in {config.name}")
    ir = gguf.with_suffix(".xml")
    ensure_ir(ir, weights())
    if backend == "openvino":
        precision = check_precision(precision_pin or default_precision(), config)
        return EngineDecision("openvino", precision, f"pinned by backend in {config.name}")
    stamp = read_stamp(gguf)
    if pin is not None:
        decision = _pinned(pin, weight_type, config)
    elif (kept := _stamped_choice(stamp, precision_pin, gguf)) is not None:
        return kept
    else:
        decision = _measure(gguf, weight_type, ir, precision_pin)
    if stamp is not None and (stamp.extra.get("engine"), stamp.extra.get("precision")) == (
        decision.backend,
        decision.precision,
    ):
        return decision
    log.info(
        "serving %s with %s %s: %s",
        gguf.stem,
        decision.backend,
        decision.precision,
        decision.reason,
    )
    write_stamp(
        gguf,
        weight_type=weight_type,
        reason=stamp.reason if stamp is not None else "",
        engine=decision.backend,
        precision=decision.precision,
        engine_reason=decision.reason,
    )
    return decision


def _stamped_choice(
    stamp: Stamp | None, precision_pin: Precision | None, gguf: Path
) -> EngineDecision | None:
    """The engine stamped by an earlier prepare, if the YAML's precision pin allows it and this
    CPU computes its precision natively (else it is measured again here)."""
    if stamp is None or not stamp.extra.get("engine") or not stamp.extra.get("precision"):
        return None
    backend, precision = stamp.extra["engine"], stamp.extra["precision"]
    if precision_pin not in (None, precision):
        return None
    if backend == "openvino" and not native_here(precision):
        log.warning(
            "%s: %s %s was chosen on another CPU and is not native here; measuring again",
            gguf.stem,
            backend,
            precision,
        )
        return None
    return EngineDecision(backend, precision, stamp.extra.get("engine_reason", ""))


def _pinned(pin: str, weight_type: OutType, config: Path) -> EngineDecision:
    reason = "pinned by RAGPREP_DEFAULT_ENGINE"
    if pin == "llama":
        return EngineDecision("llama", weight_type, reason)
    precision = pin.removeprefix("openvino-")
    assert precision in PRECISIONS, pin
    return EngineDecision("openvino", check_precision(precision, config), reason)


def _measure(gguf: Path, weight_type: OutType, ir: Path, pin: Precision | None) -> EngineDecision:
    from app.engine.openvino import offered_precisions
    from app.registry.engine_choice import decide_engine, measure_engines

    precisions = [p for p in offered_precisions() if pin in (None, p)]
    log.info(
        "measuring llama.cpp %s and OpenVINO %s on this machine (once)", weight_type, precisions
    )
    choice = decide_engine(measure_engines(gguf, weight_type, ir, precisions))
    return EngineDecision(choice.backend, choice.precision, choice.reason)
