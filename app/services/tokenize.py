"""Token ids of texts and texts of token ids, with the model's own tokenizer."""

from __future__ import annotations

from app.engine.catalog import LoadedModel
from app.errors import InvalidRequest
from app.schemas.tokenize import (
    DetokenizeResponse,
    TokenizedInput,
    TokenizeResponse,
    TokenUsage,
)
from app.services.embeddings import check_input_count, model_ids


def tokenize_texts(
    *, texts: str | list[str], model: LoadedModel, add_special_tokens: bool, max_inputs: int
) -> TokenizeResponse:
    """Blocking (run in a worker thread). Inputs longer than the window are reported whole,
    with `fits` false: counting is what this endpoint is for."""
    items = [texts] if isinstance(texts, str) else texts
    check_input_count(len(items), max_inputs=max_inputs)
    tokenizer = model.tokenizer
    data = []
    for index, text in enumerate(items):
        tokens = tokenizer.tokenize(text)
        fits = len(tokens) + tokenizer.special_tokens <= model.window
        if add_special_tokens:
            tokens = [*tokenizer.prefix, *tokens, *tokenizer.suffix]
        data.append(TokenizedInput(index=index, tokens=tokens, fits=fits))
    total = sum(len(item.tokens) for item in data)
    return TokenizeResponse(
        model=model.name,
        context_length=model.window,
        data=data,
        usage=TokenUsage(prompt_tokens=total, total_tokens=total),
    )


def detokenize_ids(*, tokens: list[int], model: LoadedModel) -> DetokenizeResponse:
    """Blocking (run in a worker thread)."""
    if not tokens:
        raise InvalidRequest("'tokens' must not be empty", param="tokens", code="empty_input")
    vocab_size = getattr(model.tokenizer, "vocab_size", 0)
    checked = model_ids(
        tokens, model=model, vocab_size=vocab_size, where="'tokens'", param="tokens"
    )
    return DetokenizeResponse(model=model.name, text=model.tokenizer.detokenize(checked))
