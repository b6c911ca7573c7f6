"""GET /metrics: the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import ServicesDep
from app.observability.metrics import CONTENT_TYPE

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.exposition(), media_type=CONTENT_TYPE)
