"""API keys checked from the request head, before any byte of the body is read or parsed.

FastAPI reads and parses a JSON body before running dependencies, so a router dependency alone
lets an unauthenticated client make the server parse megabytes. This gate answers 401 first;
the router dependency stays for the OpenAPI document.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.asgi import send_error
from app.api.security import CHALLENGE, ApiKeys
from app.errors import Unauthorized

PROTECTED_PREFIXES = ("/v1/", "/embeddings", "/metrics")


def is_protected(path: str) -> bool:
    return path == "/v1" or path.startswith(PROTECTED_PREFIXES)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class ApiKeyGate:
    def __init__(self, app: ASGIApp, *, keys: ApiKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.keys.enabled
            or scope["method"] == "OPTIONS"  # CORS preflights carry no credentials
            or not is_protected(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None:
            error = Unauthorized(
                "You didn't provide an API key. Send it in the Authorization header "
                "as 'Authorization: Bearer YOUR_KEY'.",
                headers=CHALLENGE,
            )
        elif not self.keys.accepts(token):
            error = Unauthorized("Incorrect API key provided.", headers=CHALLENGE)
        else:
            await self.app(scope, receive, send)
            return
        await send_error(send, error)
