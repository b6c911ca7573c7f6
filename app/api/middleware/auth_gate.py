"""API keys checked from the request head, before any byte of the body is read or parsed.

The one API-key check: FastAPI reads and parses a JSON body before running dependencies, so a
router dependency would let an unauthenticated client make the server parse megabytes. This gate
answers 401 first. What it protects is derived from the routers mounted behind it (their first
path segments, e.g. /v1), so a new route under a keyed router cannot be left open.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.middleware.asgi import send_error
from app.api.middleware.security import CHALLENGE, ApiKeys
from app.errors import Unauthorized


def keyed_areas(routers: Iterable[APIRouter]) -> tuple[str, ...]:
    """The first path segment of every route of `routers`: "/v1", "/embeddings", ..."""
    return tuple(sorted({_first_segment(route) for router in routers for route in router.routes}))


def _first_segment(route: BaseRoute) -> str:
    path: str = getattr(route, "path", "")
    return "/" + path.lstrip("/").partition("/")[0]


def in_areas(path: str, areas: Iterable[str]) -> bool:
    return any(path == area or path.startswith(area + "/") for area in areas)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class ApiKeyGate:
    def __init__(self, app: ASGIApp, *, keys: ApiKeys, areas: Iterable[str]) -> None:
        self.app = app
        self.keys = keys
        self.areas = tuple(areas)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.keys.enabled
            or scope["method"] == "OPTIONS"  # CORS preflights carry no credentials
            or not in_areas(scope["path"], self.areas)
        ):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None:
            error = Unauthorized(
                "You didn't provide an API key. Send it in the Authorization header "
                "as 'Authorization: Bearer YOUR_KEY'."
            )
        elif not self.keys.accepts(token):
            error = Unauthorized("Incorrect API key provided.")
        else:
            await self.app(scope, receive, send)
            return
        await send_error(send, error, headers=CHALLENGE)
