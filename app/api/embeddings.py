"""/v1/embeddings (and /embeddings, as LocalAI serves it): OpenAI-compatible embeddings."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import CatalogDep, ServicesDep, SessionDep
from app.schemas.embeddings import EmbeddingRequest, EmbeddingResponse
from app.schemas.errors import error_responses
from app.services.embeddings import create_embeddings

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
    response = await create_embeddings(
        request=request,
        model=model,
        cl100k=services.cl100k,
        max_inputs=services.settings.max_inputs,
        max_request_tokens=services.settings.max_request_tokens,
        cache=services.embedding_cache,
        session=session,
    )
    # Serialized by pydantic-core directly: thousands of floats through FastAPI's generic
    # encoder would cost more than the embedding itself.
    return Response(response.model_dump_json(), media_type="application/json")
