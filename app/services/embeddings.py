"""Turning an embeddings request into token sequences, vectors and an OpenAI response."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from app.engine.base import Tokenizer
from app.engine.catalog import LoadedModel
from app.errors import InvalidRequest
from app.schemas.embeddings import EmbeddingRequest, Usage
from app.services.embedding_cache import EmbeddingCache
from app.services.vectors import Vectors, shape

RawInput = str | list[int]


@dataclass(frozen=True)
class Embedded:
    """An embeddings request's answer before it is written out (see app/schemas/embeddings.py):
    the vectors stay one float32 matrix, so the response can be encoded without a Python float
    per value."""

    vectors: Vectors
    model: str
    usage: Usage


@dataclass(frozen=True)
class Prepared:
    sequences: list[list[int]]
    prompt_tokens: int


def check_input_count(count: int, *, max_inputs: int) -> None:
    """A request's 'input' holds at least one and at most `max_inputs` items (else a 400)."""
    if count == 0:
        raise InvalidRequest("'input' must not be empty", param="input", code="empty_input")
    if count > max_inputs:
        raise InvalidRequest(
            f"'input' has {count} items; at most {max_inputs} are allowed per request",
            param="input",
            code="too_many_inputs",
        )


def split_inputs(raw: EmbeddingRequest, *, max_inputs: int) -> list[RawInput]:
    """The request's inputs as a list of texts or token-id lists, checked for emptiness."""
    value = raw.input
    items: list[RawInput]
    if isinstance(value, str):
        items = [value]
    elif value and isinstance(value[0], int):
        items = [[int(i) for i in value]]  # one token-id list
    else:
        items = list(value)  # type: ignore[arg-type]
    check_input_count(len(items), max_inputs=max_inputs)
    for index, item in enumerate(items):
        if len(item) == 0:
            raise InvalidRequest(f"input[{index}] is empty", param="input", code="empty_input")
    return items


def _decode_ids(index: int, ids: list[int], vocabulary: Tokenizer) -> str:
    try:
        return vocabulary.detokenize(ids)
    except (KeyError, ValueError, OverflowError) as exc:
        raise InvalidRequest(
            f"input[{index}] contains token ids that are not valid cl100k_base ids",
            param="input",
            code="invalid_token_ids",
        ) from exc


def model_ids(
    ids: list[int], *, model: LoadedModel, vocab_size: int, where: str, param: str = "input"
) -> list[int]:
    """`ids`, checked to lie in the model's vocabulary (else a 400 naming `where`)."""
    if any(i < 0 or i >= vocab_size for i in ids):
        raise InvalidRequest(
            f"{where} has token ids outside {model.name}'s vocabulary 0..{vocab_size - 1}",
            param=param,
            code="invalid_token_ids",
        )
    return ids


def _text_tokens(index: int, text: str, model: LoadedModel) -> list[int]:
    tokens = model.tokenizer.tokenize(text)
    if not tokens:
        # Whitespace and control characters tokenize to nothing: the vector would be the same
        # meaningless one for all of them, so this is an empty input like "".
        raise InvalidRequest(
            f"input[{index}] has no text to embed (only whitespace or control characters)",
            param="input",
            code="empty_input",
        )
    return tokens


def tokenize_inputs(
    items: Sequence[RawInput], *, model: LoadedModel, cl100k: Tokenizer, truncate: bool
) -> Prepared:
    """Blocking (run in a worker thread): model-vocabulary token ids for every input."""
    limit = model.max_input_tokens
    vocab_size = getattr(model.tokenizer, "vocab_size", 0)
    sequences: list[list[int]] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            tokens = _text_tokens(index, item, model)
        elif model.spec.token_ids == "model":
            tokens = model_ids(item, model=model, vocab_size=vocab_size, where=f"input[{index}]")
        else:
            tokens = _text_tokens(index, _decode_ids(index, item, cl100k), model)
        if len(tokens) > limit:
            if not truncate:
                raise InvalidRequest(
                    f"input[{index}] has {len(tokens) + model.tokenizer.special_tokens} tokens, "
                    f"over {model.name}'s limit of {model.window} (special tokens included); "
                    'shorten it, chunk it with /v1/chunks, or set "truncate": true',
                    param="input",
                    code="context_length_exceeded",
                )
            tokens = tokens[:limit]
        sequences.append(tokens)
    specials = model.tokenizer.special_tokens * len(sequences)
    return Prepared(sequences, sum(len(s) for s in sequences) + specials)


def check_dimensions(request: EmbeddingRequest, model: LoadedModel) -> None:
    if request.dimensions is not None and request.dimensions > model.dimensions:
        raise InvalidRequest(
            f"'dimensions' is {request.dimensions} but {model.name} has {model.dimensions}",
            param="dimensions",
            code="invalid_dimensions",
        )


def _too_many_tokens(count: int, limit: int, what: str) -> InvalidRequest:
    return InvalidRequest(
        f"The inputs have {count} {what} in total; at most {limit} tokens are allowed per "
        "request: split it into several requests",
        param="input",
        code="max_tokens_per_request",
    )


def check_token_id_budget(items: Sequence[RawInput], limit: int) -> None:
    """Before any decoding: token-id inputs are over budget by their length alone, whatever
    `truncate` says (1.8M ids would otherwise be decoded, at seconds of CPU, to keep 510)."""
    ids = sum(len(item) for item in items if not isinstance(item, str))
    if ids > limit:
        raise _too_many_tokens(ids, limit, "token ids")


def check_total_tokens(prepared: Prepared, limit: int) -> None:
    """One request may not monopolize the queue: the total is capped, as OpenAI caps it."""
    if prepared.prompt_tokens > limit:
        raise _too_many_tokens(prepared.prompt_tokens, limit, "tokens (special tokens included)")


async def create_embeddings(
    *,
    request: EmbeddingRequest,
    model: LoadedModel,
    cl100k: Tokenizer,
    max_inputs: int,
    max_request_tokens: int,
    cache: EmbeddingCache,
    session: AsyncSession,
) -> Embedded:
    check_dimensions(request, model)
    items = split_inputs(request, max_inputs=max_inputs)
    check_token_id_budget(items, max_request_tokens)
    prepared = await anyio.to_thread.run_sync(
        lambda: tokenize_inputs(items, model=model, cl100k=cl100k, truncate=request.truncate)
    )
    check_total_tokens(prepared, max_request_tokens)
    result = await cache.embed(session=session, model=model, sequences=prepared.sequences)
    vectors = shape(result.vectors, normalize=model.spec.normalize, dimensions=request.dimensions)
    specials = model.tokenizer.special_tokens
    hits = zip(prepared.sequences, result.hits, strict=True)
    cached = sum(len(s) + specials for s, hit in hits if hit)
    usage = Usage.of(prepared.prompt_tokens, cached)
    return Embedded(vectors, request.model or model.name, usage)
