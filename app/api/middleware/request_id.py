"""X-Request-ID on every response: the client's, when it is a sane token, else a new one."""

from __future__ import annotations

import re
from uuid import uuid4

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logs import REQUEST_ID_SCOPE_KEY, current_request_id

HEADER = b"x-request-id"
# Echoed into logs and a response header: printable ASCII tokens only, bounded in length.
_SANE = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,128}")


def _requested(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if _SANE.fullmatch(value) else None
    return None


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _requested(scope) or uuid4().hex
        scope[REQUEST_ID_SCOPE_KEY] = request_id  # for the 500 handler, outside this layer
        token = current_request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != HEADER]
                message = {**message, "headers": [*headers, (HEADER, request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
