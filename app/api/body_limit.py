"""A byte cap on request bodies, enforced before FastAPI reads them.

FastAPI reads a whole JSON body into memory before any dependency or handler runs, so the cap
has to live in front of it, as pure ASGI. The streaming upload route is exempt: it enforces
its own, larger limit while writing to disk.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.asgi import send_error
from app.errors import PayloadTooLarge

DISCONNECT: Message = {"type": "http.disconnect"}


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the {limit}-byte limit")


@dataclass
class _Guard:
    """Wraps one request's receive/send: counts body bytes, answers 413 past the limit."""

    inner_receive: Receive
    inner_send: Send
    limit: int
    seen: int = 0
    started: bool = False
    rejected: bool = False

    async def receive(self) -> Message:
        if self.rejected:
            return DISCONNECT
        message = await self.inner_receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.rejected = True
                if not self.started:
                    # Connection: close, so the server stops reading a body nobody will use.
                    await send_error(self.inner_send, _too_large(self.limit))
                # The app sees a client that went away: it stops reading, its answer is dropped.
                return DISCONNECT
        return message

    async def send(self, message: Message) -> None:
        if self.rejected:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self.inner_send(message)


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
