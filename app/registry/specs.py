"""The models/ registry: servable models from LocalAI-style YAML, GGUF files and HF folders."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import yaml

log = logging.getLogger(__name__)

CACHE_DIR_NAME = ".cache"
TokenIdVocabulary = Literal["cl100k_base", "model"]
# Weight types our converter writes (2-D matrices; norms and biases stay f32).
OutType = Literal["f16", "bf16", "f32"]
OUTTYPES: tuple[OutType, ...] = ("f16", "bf16", "f32")
# Which engine embeds: llama.cpp, OpenVINO, or (auto) the one `models prepare` measured fastest.
Backend = Literal["auto", "llama", "openvino"]
# OpenVINO inference precisions (weights stay f32 in the IR; the CPU plugin computes in these).
Precision = Literal["bf16", "f32"]
PRECISIONS: tuple[Precision, ...] = ("bf16", "f32")


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
    backend: Backend = "llama"
    precision: Precision | None = None

    @property
    def ir(self) -> Path:
        """Where the OpenVINO IR (.xml, .bin beside it) of this model is kept."""
        if self.hf_dir is not None:
            return self.gguf.parent / f"{self.hf_dir.name}.xml"
        return self.gguf.with_suffix(".xml")

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


LLAMA_BACKENDS = ("llama-cpp", "llama", "llama.cpp")
SENTENCE_TRANSFORMERS_BACKENDS = ("sentencetransformers", "sentence-transformers")
BERT_BACKEND = "bert-embeddings"
OPENVINO_BACKEND = "openvino"
# What LocalAI's sentencetransformers docs name; served from the packaged weights, offline.
PACKAGED_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
DEFAULT_GGUF_NAME = "all-MiniLM-L6-v2.gguf"


class Skipped(Exception):
    """A config that is not an embedding model ragprep serves (e.g. a LocalAI chat model)."""


def _sentence_transformers_weights(
    models_dir: Path, ref: str, source: Path, weight_type: OutType | None
) -> tuple[Path, Path | None]:
    if ref in (*PACKAGED_NAMES, DEFAULT_GGUF_NAME):
        return models_dir / DEFAULT_GGUF_NAME, None
    target = Path(ref) if Path(ref).is_absolute() else models_dir / ref
    if is_hf_model_dir(target):
        return cached_gguf(models_dir, target, weight_type), target
    raise RegistryError(
        f"{source}: backend sentencetransformers model {ref!r} is not available offline. "
        f"ragprep serves {PACKAGED_NAMES[0]} from packaged weights; for another model put its "
        f"Hugging Face folder (config.json, model.safetensors, vocab.txt) at {target} (it is "
        "converted to GGUF on first load), or convert it with `ragprep models convert HF_DIR "
        "OUT.gguf` and use backend: llama-cpp with parameters.model: OUT.gguf"
    )


def _bert_embeddings_weights(models_dir: Path, ref: str, source: Path) -> Path:
    """LocalAI's old bert.cpp backend: a GGUF still loads; a bert.cpp ggml file cannot."""
    target = Path(ref) if Path(ref).is_absolute() else models_dir / ref
    if target.is_file():
        with target.open("rb") as handle:
            if handle.read(4) == b"GGUF":
                return target
    what = "a bert.cpp ggml file" if target.exists() else "which does not exist"
    raise RegistryError(
        f"{source}: backend bert-embeddings names {target}, {what}; llama.cpp cannot load "
        "bert.cpp's ggml format. Convert the model's Hugging Face folder with `ragprep models "
        f"convert HF_DIR {target.stem}.gguf` and set backend: llama-cpp and parameters.model: "
        f"{target.stem}.gguf. For all-MiniLM-L6-v2 no download is needed: set backend: "
        "sentencetransformers and parameters.model: all-MiniLM-L6-v2"
    )


def read_yaml(path: Path) -> dict[str, Any]:
    """A model config's mapping; anything unreadable is a RegistryError naming the file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RegistryError(f"{path}: cannot be read ({exc})") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path}: not valid YAML ({exc}); fix or remove it") from exc
    if not isinstance(raw, dict):
        raise RegistryError(f"{path}: expected a mapping with 'name' and 'parameters.model'")
    return raw


def model_ref(raw: dict[str, Any], path: Path) -> object:
    """The config's parameters.model as written (None when absent)."""
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise RegistryError(f"{path}: parameters must be a mapping with 'model'")
    return parameters.get("model")


def weight_type_of(raw: dict[str, Any], path: Path) -> OutType | None:
    weight_type = raw.get("weight_type")
    if weight_type is not None and weight_type not in OUTTYPES:
        raise RegistryError(f"{path}: weight_type must be one of {', '.join(OUTTYPES)}")
    return cast("OutType | None", weight_type)


def backend_of(raw: dict[str, Any]) -> Backend:
    """llama.cpp when the config names it (or nothing); OpenVINO when named; a
    sentence-transformers config gets the engine `models prepare` measured fastest."""
    backend = str(raw.get("backend") or "llama-cpp").lower()
    if backend == OPENVINO_BACKEND:
        return "openvino"
    return "auto" if backend in SENTENCE_TRANSFORMERS_BACKENDS else "llama"


def precision_of(raw: dict[str, Any], path: Path) -> Precision | None:
    precision = raw.get("precision")
    if precision is not None and precision not in PRECISIONS:
        raise RegistryError(f"{path}: precision must be one of {', '.join(PRECISIONS)}")
    return cast("Precision | None", precision)


def _weights(
    models_dir: Path, raw: dict[str, Any], path: Path, weight_type: OutType | None
) -> tuple[Path, Path | None]:
    """The GGUF (and HF folder to convert, if any) a LocalAI-style config asks for."""
    backend = str(raw.get("backend") or "llama-cpp").lower()
    ref = model_ref(raw, path)
    known = (*LLAMA_BACKENDS, *SENTENCE_TRANSFORMERS_BACKENDS, BERT_BACKEND, OPENVINO_BACKEND)
    if backend not in known:
        raise Skipped(f"backend {backend!r} is not an embedding backend ragprep serves")
    if backend in LLAMA_BACKENDS and raw.get("embeddings") is not True:
        raise Skipped("not an embeddings model (embeddings: true)")
    if not isinstance(ref, str) or not ref:
        raise RegistryError(f"{path}: missing parameters.model (a GGUF file or HF folder)")
    if backend in (*SENTENCE_TRANSFORMERS_BACKENDS, OPENVINO_BACKEND):
        return _sentence_transformers_weights(models_dir, ref, path, weight_type)
    if backend == BERT_BACKEND:
        return _bert_embeddings_weights(models_dir, ref, path), None
    return _resolve_weights(models_dir, Path(ref), weight_type)


def _spec_from_yaml(models_dir: Path, path: Path) -> ModelSpec:
    raw = read_yaml(path)
    weight_type = weight_type_of(raw, path)
    gguf_path, hf_dir = _weights(models_dir, raw, path, weight_type)
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
        backend=backend_of(raw),
        precision=precision_of(raw, path),
    )


def _optional_int(raw: dict[str, Any], key: str, path: Path) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise RegistryError(f"{path}: {key} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class Unloaded:
    """A config or file in models/ that is not served, and why."""

    name: str
    source: Path
    status: Literal["skipped", "failed"]
    reason: str


@dataclass
class Survey:
    specs: list[ModelSpec]
    unloaded: list[Unloaded]

    @property
    def failed(self) -> list[Unloaded]:
        return [u for u in self.unloaded if u.status == "failed"]


def survey(models_dir: Path) -> Survey:
    """Every model in models_dir, servable or not; YAML configs claim the files they name."""
    if not models_dir.is_dir():
        raise RegistryError(f"models directory {models_dir} does not exist")
    found = Survey(specs=[], unloaded=[])
    for path in sorted(models_dir.glob("*.y*ml")):
        try:
            found.specs.append(_spec_from_yaml(models_dir, path))
        except Skipped as exc:
            found.unloaded.append(Unloaded(path.stem, path, "skipped", str(exc)))
        except RegistryError as exc:
            found.unloaded.append(Unloaded(path.stem, path, "failed", str(exc)))
    specs = found.specs
    claimed = {s.gguf.resolve() for s in specs} | {s.hf_dir.resolve() for s in specs if s.hf_dir}
    for path in sorted(models_dir.iterdir()):
        if path.resolve() in claimed or path.name.startswith("."):
            continue
        if path.suffix == ".gguf" and path.is_file():
            specs.append(ModelSpec(name=path.stem, gguf=path, source=path))
        elif is_hf_model_dir(path):
            gguf = cached_gguf(models_dir, path)
            specs.append(ModelSpec(name=path.name, gguf=gguf, source=path, hf_dir=path))
    _drop_duplicates(found)
    return found


def discover(models_dir: Path) -> list[ModelSpec]:
    """Every servable model in models_dir; any broken config stops start-up, naming the fix."""
    found = survey(models_dir)
    if found.failed:
        raise RegistryError("; ".join(u.reason for u in found.failed))
    for skipped in found.unloaded:
        log.info("not serving %s: %s", skipped.source.name, skipped.reason)
    return found.specs


def _drop_duplicates(found: Survey) -> None:
    seen: dict[str, Path] = {}
    kept: list[ModelSpec] = []
    for spec in found.specs:
        clash = next((name for name in spec.names if name in seen), None)
        if clash is None:
            seen.update(dict.fromkeys(spec.names, spec.source))
            kept.append(spec)
            continue
        reason = f"model name {clash!r} is declared by both {seen[clash]} and {spec.source}"
        found.unloaded.append(Unloaded(spec.name, spec.source, "failed", reason))
    found.specs = kept
