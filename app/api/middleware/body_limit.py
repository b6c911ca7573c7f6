"""A byte cap on request bodies, enforced before FastAPI reads them.

FastAPI reads a whole JSON body into memory before any dependency or handler runs, so the cap
has to live in front of it, as pure ASGI. The streaming upload route is exempt: it enforces
its own, larger limit while writing to disk.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.middleware.asgi import BodyGuard, send_error
from app.errors import PayloadTooLarge


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the {limit}-byte limit")


class _Guard(BodyGuard):
    """Counts body bytes, answers 413 past the limit."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        super().__init__(receive, send)
        self.limit = limit
        self.seen = 0

    async def next_message(self) -> Message:
        message = await self.inner_receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                return await self.refuse(_too_large(self.limit))
        return message


class BodyLimit:
    """413 in the OpenAI envelope for bodies over `max_bytes`, declared or streamed."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, exempt: Collection[tuple[str, str]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) in self.exempt:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await send_error(send, _too_large(self.max_bytes))
            return
        guard = _Guard(receive, send, self.max_bytes)
        await self.app(scope, guard.receive, guard.send)
