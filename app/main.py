"""Application factory. Nothing heavy happens at import: the lifespan builds and tears down."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from app.api.errors import install_error_handlers
from app.api.middleware import install_middleware
from app.api.middleware.auth_gate import keyed_areas
from app.api.middleware.security import load_api_keys
from app.api.openapi import install_openapi
from app.api.routes import KEYED_ROUTERS, health
from app.api.routes.inspector import install_inspector
from app.config import Settings
from app.observability.metrics import Metrics
from app.schemas.errors import error_responses
from app.services.runtime import open_services

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _lifespan(settings: Settings, metrics: Metrics) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings, metrics) as services:
            app.state.services = services
            yield

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # Per app, not the process-wide default registry: the middleware counts from the start.
    metrics = Metrics()
    app = FastAPI(title="ragprep", version="0.1.0", lifespan=_lifespan(settings, metrics))
    # Read once here, so a missing or empty key file stops start-up instead of failing open.
    app.state.api_keys = load_api_keys(settings)
    install_error_handlers(app)
    app.include_router(health.router)
    for router in KEYED_ROUTERS:
        app.include_router(router, responses=error_responses(401))
    install_inspector(app)
    areas = keyed_areas(KEYED_ROUTERS)
    install_middleware(app, settings, metrics, areas)
    install_openapi(app, keyed_areas=areas)
    return app
