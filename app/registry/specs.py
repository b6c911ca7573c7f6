"""The models/ registry: servable models from LocalAI-style YAML, GGUF files and HF folders."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

log = logging.getLogger(__name__)

CACHE_DIR_NAME = ".cache"
TokenIdVocabulary = Literal["cl100k_base", "model"]
# Weight types our converter writes (2-D matrices; norms and biases stay f32).
OutType = Literal["f16", "bf16", "f32"]
OUTTYPES: tuple[OutType, ...] = ("f16", "bf16", "f32")


class RegistryError(Exception):
    """A model config or file in models/ is unusable; the message says which and what to do."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    gguf: Path
    source: Path
    hf_dir: Path | None = None
    aliases: tuple[str, ...] = ()
    context_size: int | None = None
    threads: int | None = None
    workers: int | None = None
    normalize: bool = True
    batch: int | None = None
    token_ids: TokenIdVocabulary = "cl100k_base"
    owned_by: str = "ragprep"
    weight_type: OutType | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def created(self) -> int:
        return int(self.source.stat().st_mtime) if self.source.exists() else 0


def is_hf_model_dir(path: Path) -> bool:
    has_weights = (path / "model.safetensors").exists() or (
        path / "model.safetensors.index.json"
    ).exists()
    return path.is_dir() and (path / "config.json").exists() and has_weights


def cached_gguf(models_dir: Path, hf_dir: Path, weight_type: OutType | None = None) -> Path:
    return models_dir / CACHE_DIR_NAME / f"{hf_dir.name}-{weight_type or 'f16'}.gguf"


def _resolve_weights(
    models_dir: Path, ref: Path, weight_type: OutType | None
) -> tuple[Path, Path | None]:
    """A YAML's parameters.model may name a GGUF file or an HF folder (converted and cached)."""
    target = ref if ref.is_absolute() else models_dir / ref
    if target.is_dir():
        return cached_gguf(models_dir, target, weight_type), target
    return target, None


def _spec_from_yaml(models_dir: Path, path: Path) -> ModelSpec | None:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path}: not valid YAML ({exc}); fix or remove it") from exc
    if not isinstance(raw, dict):
        raise RegistryError(f"{path}: expected a mapping with 'name' and 'parameters.model'")
    if raw.get("backend", "llama-cpp") not in ("llama-cpp", "llama", "llama.cpp"):
        log.info("skipping %s: backend %r is not llama-cpp", path.name, raw.get("backend"))
        return None
    if raw.get("embeddings") is not True:
        log.info("skipping %s: not an embeddings model (embeddings: true)", path.name)
        return None
    model_ref = (raw.get("parameters") or {}).get("model")
    if not isinstance(model_ref, str) or not model_ref:
        raise RegistryError(f"{path}: missing parameters.model (a GGUF file or HF folder)")
    weight_type = raw.get("weight_type")
    if weight_type is not None and weight_type not in OUTTYPES:
        raise RegistryError(f"{path}: weight_type must be one of {', '.join(OUTTYPES)}")
    gguf_path, hf_dir = _resolve_weights(models_dir, Path(model_ref), weight_type)
    aliases = raw.get("aliases") or []
    token_ids = raw.get("token_ids", "cl100k_base")
    if token_ids not in ("cl100k_base", "model"):
        raise RegistryError(f"{path}: token_ids must be 'cl100k_base' or 'model'")
    return ModelSpec(
        name=str(raw.get("name") or path.stem),
        gguf=gguf_path,
        source=path,
        hf_dir=hf_dir,
        aliases=tuple(str(a) for a in aliases),
        context_size=_optional_int(raw, "context_size", path),
        threads=_optional_int(raw, "threads", path),
        workers=_optional_int(raw, "workers", path),
        normalize=bool(raw.get("normalize", True)),
        batch=_optional_int(raw, "batch", path),
        token_ids=token_ids,
        weight_type=weight_type,
    )


def _optional_int(raw: dict[str, Any], key: str, path: Path) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise RegistryError(f"{path}: {key} must be a positive integer, got {value!r}")
    return value


def discover(models_dir: Path) -> list[ModelSpec]:
    """Every servable model in models_dir; YAML configs claim the files they reference."""
    if not models_dir.is_dir():
        raise RegistryError(f"models directory {models_dir} does not exist")
    specs: list[ModelSpec] = []
    for path in sorted(models_dir.glob("*.y*ml")):
        spec = _spec_from_yaml(models_dir, path)
        if spec is not None:
            specs.append(spec)
    claimed = {s.gguf.resolve() for s in specs} | {s.hf_dir.resolve() for s in specs if s.hf_dir}
    for path in sorted(models_dir.iterdir()):
        if path.resolve() in claimed or path.name.startswith("."):
            continue
        if path.suffix == ".gguf" and path.is_file():
            specs.append(ModelSpec(name=path.stem, gguf=path, source=path))
        elif is_hf_model_dir(path):
            specs.append(
                ModelSpec(
                    name=path.name, gguf=cached_gguf(models_dir, path), source=path, hf_dir=path
                )
            )
    _check_unique(specs)
    return specs


def _check_unique(specs: list[ModelSpec]) -> None:
    seen: dict[str, Path] = {}
    for spec in specs:
        for name in spec.names:
            if name in seen:
                raise RegistryError(
                    f"model name {name!r} is declared by both {seen[name]} and {spec.source}"
                )
            seen[name] = spec.source
