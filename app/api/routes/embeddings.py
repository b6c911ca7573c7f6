"""/v1/embeddings (and /embeddings, as LocalAI serves it): OpenAI-compatible embeddings."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import CatalogDep, ServicesDep, SessionDep
from app.api.encoding import encode
from app.schemas.embeddings import Embedding, EmbeddingRequest, EmbeddingResponse, Usage
from app.schemas.errors import error_responses
from app.services.embeddings import EmbeddingAsk, Limits, create_embeddings

router = APIRouter(tags=["embeddings"])


@router.post(
    "/v1/embeddings",
    response_model=EmbeddingResponse,
    responses=error_responses(400, 404, 413, 429, 503),
)
@router.post("/embeddings", response_model=EmbeddingResponse, include_in_schema=False)
async def embeddings(
    request: EmbeddingRequest, catalog: CatalogDep, services: ServicesDep, session: SessionDep
) -> Response:
    model = catalog.get(request.model)
    settings = services.settings
    embedded = await create_embeddings(
        ask=EmbeddingAsk(request.input, request.dimensions, request.truncate),
        model=model,
        cl100k=services.cl100k,
        limits=Limits(settings.max_inputs, settings.max_request_tokens),
        cache=services.embedding_cache,
        session=session,
    )
    data = [
        Embedding(index=i, embedding=encode(vector, request.encoding_format))
        for i, vector in enumerate(embedded.vectors)
    ]
    usage = Usage.of(embedded.prompt_tokens, embedded.cached_tokens)
    response = EmbeddingResponse(data=data, model=request.model or model.name, usage=usage)
    # Serialized by pydantic-core directly: thousands of floats through FastAPI's generic
    # encoder would cost more than the embedding itself.
    return Response(response.model_dump_json(), media_type="application/json")
