"""/v1/embeddings (and /embeddings, as LocalAI serves it): OpenAI-compatible embeddings."""

from __future__ import annotations

import numpy as np
import orjson
from fastapi import APIRouter, Response

from app.api.deps import CatalogDep, ServicesDep, SessionDep
from app.api.encoding import encode
from app.engine.vectors import Vectors
from app.schemas.embeddings import EmbeddingRequest, EmbeddingResponse, Usage
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
    usage = Usage.of(embedded.prompt_tokens, embedded.cached_tokens)
    name = request.model or model.name
    body = response_json(embedded.vectors, name, usage, request.encoding_format)
    return Response(body, media_type="application/json")


def response_json(vectors: Vectors, model: str, usage: Usage, encoding_format: str) -> bytes:
    """The EmbeddingResponse shape, written by orjson straight from the float32 matrix: each
    value is the shortest decimal that reads back as the same float32 (9 significant digits at
    most, as OpenAI writes them), with no Python float per value. Measured on 20 x 384 vectors:
    0.3 ms against pydantic's 1.5 ms, and 94 kB against 162 kB for clients to parse."""
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    values: list[object] = (
        [encode(vector, "base64") for vector in matrix]
        if encoding_format == "base64"
        else list(matrix)
    )
    data = [
        {"object": "embedding", "index": index, "embedding": value}
        for index, value in enumerate(values)
    ]
    body = {"object": "list", "data": data, "model": model, "usage": usage.model_dump()}
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
