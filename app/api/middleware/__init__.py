"""The ASGI middleware stack, in the order a request meets it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.middleware.auth_gate import ApiKeyGate
from app.api.middleware.body_limit import BodyLimit
from app.api.middleware.body_timeout import BodyTimeout
from app.api.middleware.disconnect import CancelOnDisconnect
from app.api.middleware.head import HeadAsGet
from app.api.middleware.metrics import HttpMetrics
from app.api.middleware.request_id import RequestId
from app.api.middleware.shutdown_guard import ShutdownGuard
from app.config import Settings
from app.observability.metrics import Metrics


def install_middleware(
    app: FastAPI, settings: Settings, metrics: Metrics, keyed: tuple[str, ...]
) -> None:
    # Each add wraps the ones before: the last added runs first on a request.
    # The streaming upload is exempt: it enforces max_upload_bytes itself while writing to disk.
    exempt = {("POST", "/v1/files")}
    app.add_middleware(CancelOnDisconnect)  # innermost: cancels the handler, not the 413 path
    app.add_middleware(BodyLimit, max_bytes=settings.max_json_bytes, exempt=exempt)
    app.add_middleware(BodyTimeout, seconds=settings.body_read_timeout)
    # Before any body byte is read or parsed.
    app.add_middleware(ApiKeyGate, keys=app.state.api_keys, areas=keyed)
    app.add_middleware(HeadAsGet)
    app.add_middleware(ShutdownGuard)
    app.add_middleware(HttpMetrics, metrics=metrics)
    app.add_middleware(RequestId)
    if settings.cors_origins:  # added last: outermost, so even a 413 carries CORS headers
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Retry-After", "X-Request-ID", "X-OCR-Pages", "X-Page-Count"],
        )
