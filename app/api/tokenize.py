"""/v1/tokenize and /v1/detokenize: the model's own tokenizer, so clients can count and check
inputs against the context window before embedding (as TEI's /tokenize allows)."""

from __future__ import annotations

import anyio
from fastapi import APIRouter

from app.api.deps import CatalogDep, ServicesDep
from app.schemas.errors import error_responses
from app.schemas.tokenize import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
)
from app.services.tokenize import detokenize_ids, tokenize_texts

router = APIRouter(prefix="/v1", tags=["tokenize"])


@router.post("/tokenize", response_model=TokenizeResponse, responses=error_responses(400, 404))
async def tokenize(
    request: TokenizeRequest, catalog: CatalogDep, services: ServicesDep
) -> TokenizeResponse:
    model = catalog.get(request.model)
    max_inputs = services.settings.max_inputs
    return await anyio.to_thread.run_sync(
        lambda: tokenize_texts(
            texts=request.input,
            model=model,
            add_special_tokens=request.add_special_tokens,
            max_inputs=max_inputs,
        )
    )


@router.post("/detokenize", response_model=DetokenizeResponse, responses=error_responses(400, 404))
async def detokenize(
    request: DetokenizeRequest, catalog: CatalogDep, services: ServicesDep
) -> DetokenizeResponse:
    model = catalog.get(request.model)
    max_ids = services.settings.max_request_tokens
    # check_cancelled raises in the thread once this task is cancelled (CancelOnDisconnect
    # cancels it when the client leaves), so a gone client's ids are not decoded on.
    return await anyio.to_thread.run_sync(
        lambda: detokenize_ids(
            tokens=request.tokens,
            model=model,
            max_ids=max_ids,
            check=anyio.from_thread.check_cancelled,
        )
    )
