"""/v1/tokenize and /v1/detokenize: the model's own tokenizer, so clients can count and check
inputs against the context window before embedding (as TEI's /tokenize allows)."""

from __future__ import annotations

import threading

import anyio
from fastapi import APIRouter

from app.api.deps import CatalogDep, ServicesDep
from app.engine.catalog import LoadedModel
from app.schemas.errors import error_responses
from app.schemas.tokenize import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizedInput,
    TokenizeRequest,
    TokenizeResponse,
    TokenUsage,
)
from app.services.tokenize import TokenizedText, detokenize_ids, tokenize_texts

router = APIRouter(prefix="/v1", tags=["tokenize"])


@router.post("/tokenize", response_model=TokenizeResponse, responses=error_responses(400, 404))
async def tokenize(
    request: TokenizeRequest, catalog: CatalogDep, services: ServicesDep
) -> TokenizeResponse:
    model = catalog.get(request.model)
    max_inputs = services.settings.max_inputs
    return await anyio.to_thread.run_sync(
        lambda: _tokenized(
            model,
            tokenize_texts(
                texts=request.input,
                model=model,
                add_special_tokens=request.add_special_tokens,
                max_inputs=max_inputs,
            ),
        )
    )


def _tokenized(model: LoadedModel, items: list[TokenizedText]) -> TokenizeResponse:
    data = [TokenizedInput(index=i, tokens=t.tokens, fits=t.fits) for i, t in enumerate(items)]
    total = sum(len(item.tokens) for item in items)
    return TokenizeResponse(
        model=model.name,
        context_length=model.window,
        data=data,
        usage=TokenUsage(prompt_tokens=total, total_tokens=total),
    )


@router.post("/detokenize", response_model=DetokenizeResponse, responses=error_responses(400, 404))
async def detokenize(
    request: DetokenizeRequest, catalog: CatalogDep, services: ServicesDep
) -> DetokenizeResponse:
    model = catalog.get(request.model)
    max_ids = services.settings.max_request_tokens
    gone = threading.Event()

    def check() -> None:
        if gone.is_set():
            raise ClientGone

    # CancelOnDisconnect cancels this task when the client leaves; the await then returns at
    # once but the thread would decode on (anyio's check_cancelled does not see a plain task
    # cancel), so the thread checks this flag instead.
    try:
        text = await anyio.to_thread.run_sync(
            lambda: detokenize_ids(tokens=request.tokens, model=model, max_ids=max_ids, check=check)
        )
        return DetokenizeResponse(model=model.name, text=text)
    finally:
        gone.set()


class ClientGone(Exception):
    """Raised in the decoding thread once its request has been cancelled; nobody awaits it."""
