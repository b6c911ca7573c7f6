"""One module per resource; the app includes their routers in `KEYED_ROUTERS` order."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.routes import (
    chunks,
    embeddings,
    file_embeddings,
    files,
    metrics,
    models,
    tokenize,
    vector_store_files,
    vector_stores,
)

# Behind API keys (when configured): ApiKeyGate protects the first path segment of every route
# here ("/v1", "/embeddings", "/metrics"); public routes (health, the inspector) stay outside.
KEYED_ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (
        files,
        file_embeddings,
        chunks,
        models,
        embeddings,
        tokenize,
        vector_stores,
        vector_store_files,
        metrics,
    )
)
