"""Convert a Hugging Face BERT sentence-transformers directory into a llama.cpp GGUF embedder.

Mirrors what llama.cpp's own ``convert_hf_to_gguf.py`` does for ``BertModel`` (phantom-space
WordPiece vocab, gguf's BERT tensor name map, norms/biases/position tables kept in f32), but
needs only ``gguf``, ``safetensors`` and ``numpy``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import numpy.typing as npt
from safetensors import SafetensorError, safe_open

from app.registry.specs import OUTTYPES, OutType

logger = logging.getLogger(__name__)

_ARCH = gguf.MODEL_ARCH.BERT
_PHANTOM_SPACE = "\u2581"
_DROPPED_PREFIXES = ("pooler.", "cls.predictions.", "cls.seq_relationship.")
_DROPPED_NAMES = frozenset({"embeddings.position_ids"})
# Tensor kinds llama.cpp's converter always stores in f32 (besides 1-D tensors and norms).
_F32_KINDS = frozenset({gguf.MODEL_TENSOR.POS_EMBD, gguf.MODEL_TENSOR.TOKEN_TYPES})
_POOLING_MODES = {
    "pooling_mode_mean_tokens": gguf.PoolingType.MEAN,
    "pooling_mode_cls_token": gguf.PoolingType.CLS,
    "pooling_mode_lasttoken": gguf.PoolingType.LAST,
}
_POOLING_NAMES = {
    gguf.PoolingType.MEAN: "mean",
    gguf.PoolingType.CLS: "cls",
    gguf.PoolingType.LAST: "last",
}
_UNSUPPORTED_POOLING = ("pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
_SPECIAL_DEFAULTS = {
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "unk_token": "[UNK]",
    "pad_token": "[PAD]",
    "mask_token": "[MASK]",
}
# Keys read by llama.cpp's BertNormalizer options; absent from older gguf-py releases.
_KEY_LOWERCASE = "tokenizer.ggml.normalizer.lowercase"
_KEY_STRIP_ACCENTS = "tokenizer.ggml.normalizer.strip_accents"


class ConversionError(Exception):
    """The source directory cannot be converted (missing or unsupported input)."""


_FILE_TYPES = {
    "f16": gguf.LlamaFileType.MOSTLY_F16,
    "bf16": gguf.LlamaFileType.MOSTLY_BF16,
    "f32": gguf.LlamaFileType.ALL_F32,
}


def convert_hf_to_gguf(*, src: Path, dst: Path, outtype: OutType = "f16") -> Path:
    """Convert the BERT model directory ``src`` into the GGUF file ``dst`` (written atomically).

    ``outtype`` is the type of the 2-D weight matrices; norms, biases and position tables stay
    f32 as in llama.cpp's converter.
    """
    if outtype not in OUTTYPES:
        raise ConversionError(f"unsupported outtype {outtype!r} for {src}")
    config = load_config(src)
    pooling = _pooling_type(src)
    tokenizer_config = _read_object(src / "tokenizer_config.json", required=False)
    _safetensors_files(src)  # fail on missing weights before creating any file
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer = gguf.GGUFWriter(tmp, gguf.MODEL_ARCH_NAMES[_ARCH])
        try:
            _add_hparams(writer, src, config, pooling, outtype)
            _add_vocab(writer, src, config, tokenizer_config)
            _add_tensors(writer, src, config, outtype)
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
        finally:
            writer.close()
        tmp.chmod(0o644)  # mkstemp creates 0600
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.info("converted %s -> %s (%s)", src, dst, outtype)
    return dst


def _read_json(path: Path, *, required: bool = True) -> Any:
    if not path.is_file():
        if required:
            raise ConversionError(f"missing {path}")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConversionError(f"cannot read {path}: {exc}") from exc


def _read_object(path: Path, *, required: bool = True) -> dict[str, Any]:
    data = _read_json(path, required=required)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConversionError(f"expected a JSON object in {path}")
    return data


def load_config(src: Path) -> dict[str, Any]:
    if not src.is_dir():
        raise ConversionError(f"model directory not found: {src}")
    config = _read_object(src / "config.json")
    if config.get("model_type") != "bert":
        raise ConversionError(
            f"unsupported model_type {config.get('model_type')!r} in {src / 'config.json'}"
        )
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ConversionError(f"only absolute position embeddings are supported: {src}")
    return config


def _pooling_dir(src: Path) -> Path:
    modules_path = src / "modules.json"
    modules = _read_json(modules_path, required=False) or []
    pooling_dir = src / "1_Pooling"
    for entry in modules if isinstance(modules, list) else []:
        kind = str(entry.get("type", ""))
        if kind.endswith(".Dense"):
            raise ConversionError(f"Dense projection modules are not supported: {modules_path}")
        if kind.endswith(".Pooling"):
            pooling_dir = src / str(entry.get("path", "1_Pooling"))
    return pooling_dir


def pooling_mode(src: Path) -> str:
    """ "mean", "cls" or "last", as the folder's sentence-transformers pooling config says."""
    return _POOLING_NAMES[_pooling_type(src)]


def _pooling_type(src: Path) -> gguf.PoolingType:
    path = _pooling_dir(src) / "config.json"
    cfg = _read_object(path, required=False)
    for key in _UNSUPPORTED_POOLING:
        if cfg.get(key):
            raise ConversionError(f"unsupported {key} in {path}")
    for key, pooling in _POOLING_MODES.items():
        if cfg.get(key):
            return pooling
    logger.info("no pooling mode in %s, defaulting to mean pooling", path)
    return gguf.PoolingType.MEAN


def _add_hparams(
    writer: gguf.GGUFWriter,
    src: Path,
    config: dict[str, Any],
    pooling: gguf.PoolingType,
    outtype: str,
) -> None:
    try:
        writer.add_name(src.resolve().name)
        writer.add_block_count(int(config["num_hidden_layers"]))
        writer.add_context_length(int(config["max_position_embeddings"]))
        writer.add_embedding_length(int(config["hidden_size"]))
        writer.add_feed_forward_length(int(config["intermediate_size"]))
        writer.add_head_count(int(config["num_attention_heads"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConversionError(f"missing or invalid {exc} in {src / 'config.json'}") from exc
    writer.add_layer_norm_eps(float(config.get("layer_norm_eps", 1e-12)))
    writer.add_causal_attention(False)
    writer.add_pooling_type(pooling)
    writer.add_file_type(_FILE_TYPES[outtype])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


def _read_vocab(path: Path) -> list[str]:
    if not path.is_file():
        raise ConversionError(f"missing {path}")
    # split on "\n" only: str.splitlines() would also split on tokens such as U+0085
    lines = path.read_text(encoding="utf-8").split("\n")
    tokens = [line.rstrip("\r") for line in lines]
    if tokens and not tokens[-1]:
        tokens.pop()
    return tokens


def _special_ids(tokens: list[str], tokenizer_config: dict[str, Any], path: Path) -> dict[str, int]:
    index = {tok: i for i, tok in enumerate(tokens)}
    ids: dict[str, int] = {}
    for key, default in _SPECIAL_DEFAULTS.items():
        text = tokenizer_config.get(key) or default
        if isinstance(text, dict):  # AddedToken serialised as {"content": ...}
            text = text.get("content", default)
        if text not in index:
            raise ConversionError(f"special token {text!r} ({key}) not found in {path}")
        ids[key] = index[text]
    return ids


def _add_vocab(
    writer: gguf.GGUFWriter,
    src: Path,
    config: dict[str, Any],
    tokenizer_config: dict[str, Any],
) -> None:
    vocab_path = src / "vocab.txt"
    tokens = _read_vocab(vocab_path)
    vocab_size = int(config.get("vocab_size", len(tokens)))
    if len(tokens) != vocab_size:
        raise ConversionError(f"{vocab_path} has {len(tokens)} tokens, config says {vocab_size}")
    ids = _special_ids(tokens, tokenizer_config, vocab_path)
    control = set(ids.values())
    types = [
        gguf.TokenType.CONTROL if i in control else gguf.TokenType.NORMAL for i in range(vocab_size)
    ]
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("jina-v2-en")
    writer.add_token_list([_phantom(tok, i in control) for i, tok in enumerate(tokens)])
    writer.add_token_types(types)
    writer.add_token_scores([0.0] * vocab_size)
    writer.add_token_type_count(int(config.get("type_vocab_size", 1)))
    writer.add_bos_token_id(ids["cls_token"])
    writer.add_eos_token_id(ids["sep_token"])
    writer.add_sep_token_id(ids["sep_token"])
    writer.add_unk_token_id(ids["unk_token"])
    writer.add_pad_token_id(ids["pad_token"])
    writer.add_mask_token_id(ids["mask_token"])
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)
    lowercase = bool(tokenizer_config.get("do_lower_case", True))
    strip_accents = tokenizer_config.get("strip_accents")
    writer.add_bool(_KEY_LOWERCASE, lowercase)
    writer.add_bool(_KEY_STRIP_ACCENTS, lowercase if strip_accents is None else bool(strip_accents))


def _phantom(token: str, is_control: bool) -> str:
    if is_control:
        return token
    if token.startswith("##"):
        return token[2:]
    return _PHANTOM_SPACE + token


def _safetensors_files(src: Path) -> list[Path]:
    single = src / "model.safetensors"
    if single.is_file():
        return [single]
    index_path = src / "model.safetensors.index.json"
    if not index_path.is_file():
        raise ConversionError(f"missing {single} (or {index_path.name})")
    weight_map = _read_object(index_path).get("weight_map", {})
    return [src / name for name in sorted(set(weight_map.values()))]


def iter_tensors(src: Path) -> Iterator[tuple[str, npt.NDArray[Any]]]:
    for path in _safetensors_files(src):
        try:
            with safe_open(str(path), framework="np") as handle:
                for name in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                    yield name, handle.get_tensor(name)
        except (OSError, ValueError, TypeError, SafetensorError) as exc:
            raise ConversionError(f"cannot read tensors from {path}: {exc}") from exc


def _gguf_name(
    name: str, tensor_map: gguf.TensorNameMap, src: Path
) -> tuple[gguf.MODEL_TENSOR, str] | None:
    for prefix in ("bert.", "model."):
        name = name.removeprefix(prefix)
    if name in _DROPPED_NAMES or name.startswith(_DROPPED_PREFIXES):
        return None
    mapped = tensor_map.get_type_and_name(name, try_suffixes=(".weight", ".bias"))
    if mapped is None:
        raise ConversionError(f"unknown tensor {name!r} in {src}")
    return mapped


def _add_tensors(writer: gguf.GGUFWriter, src: Path, config: dict[str, Any], outtype: str) -> None:
    tensor_map = gguf.get_tensor_name_map(_ARCH, int(config["num_hidden_layers"]))
    count = 0
    for hf_name, data in iter_tensors(src):
        mapped = _gguf_name(hf_name, tensor_map, src)
        if mapped is None:
            logger.debug("skipping %s", hf_name)
            continue
        kind, name = mapped
        keep_f32 = data.ndim <= 1 or name.endswith("_norm.weight") or kind in _F32_KINDS
        if outtype == "bf16" and not keep_f32:
            # gguf's BF16 packing rounds to nearest even, as llama.cpp's converter does.
            packed = gguf.quants.quantize(data.astype(np.float32), gguf.GGMLQuantizationType.BF16)
            writer.add_tensor(name, packed, raw_dtype=gguf.GGMLQuantizationType.BF16)
        else:
            dtype = np.float32 if outtype == "f32" or keep_f32 else np.float16
            writer.add_tensor(name, np.ascontiguousarray(data, dtype=dtype))
        count += 1
    if count == 0:
        raise ConversionError(f"no tensors found in {src}")
    logger.debug("added %d tensors from %s", count, src)
