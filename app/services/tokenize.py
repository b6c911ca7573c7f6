"""Token ids of texts and texts of token ids, with the model's own tokenizer."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from app.engine.catalog import LoadedModel
from app.errors import InvalidRequest
from app.services.embeddings import check_input_count, model_ids


@dataclass(frozen=True)
class TokenizedText:
    tokens: list[int]
    fits: bool  # the text, special tokens included, is within the model's window


def tokenize_texts(
    *, texts: str | list[str], model: LoadedModel, add_special_tokens: bool, max_inputs: int
) -> list[TokenizedText]:
    """Blocking (run in a worker thread). Inputs longer than the window are reported whole,
    with `fits` false: counting is what this endpoint is for."""
    items = [texts] if isinstance(texts, str) else texts
    check_input_count(len(items), max_inputs=max_inputs)
    tokenizer = model.tokenizer
    data = []
    for text in items:
        tokens = tokenizer.tokenize(text)
        fits = len(tokens) + tokenizer.special_tokens <= model.window
        if add_special_tokens:
            tokens = [*tokenizer.prefix, *tokens, *tokenizer.suffix]
        data.append(TokenizedText(tokens=tokens, fits=fits))
    return data


def detokenize_ids(
    *,
    tokens: list[int],
    model: LoadedModel,
    max_ids: int,
    check: Callable[[], None] | None = None,
) -> str:
    """Blocking (run in a worker thread). At most `max_ids` ids (else a 400); `check` is called
    every few thousand ids and may raise to stop the work (its client has gone)."""
    if not tokens:
        raise InvalidRequest("'tokens' must not be empty", subject="token_ids", code="empty_input")
    if len(tokens) > max_ids:
        raise InvalidRequest(
            f"'tokens' has {len(tokens)} ids; at most {max_ids} are allowed per request "
            "(RAGPREP_MAX_REQUEST_TOKENS): split it into several requests",
            subject="token_ids",
            code="too_many_tokens",
        )
    vocab_size = getattr(model.tokenizer, "vocab_size", 0)
    checked = model_ids(
        tokens, model=model, vocab_size=vocab_size, where="'tokens'", subject="token_ids"
    )
    ids = checked if check is None else _Checked(checked, check)
    return model.tokenizer.detokenize(ids)


class _Checked(Sequence[int]):
    """`ids` that call `check` every _CHECK_EVERY items while iterated: the tokenizer's loop
    stops (with check's exception) once the request is cancelled."""

    _CHECK_EVERY = 4096

    def __init__(self, ids: list[int], check: Callable[[], None]) -> None:
        self._ids = ids
        self._check = check

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        return self._ids[index]

    def __iter__(self) -> Iterator[int]:
        for start in range(0, len(self._ids), self._CHECK_EVERY):
            self._check()
            yield from self._ids[start : start + self._CHECK_EVERY]
