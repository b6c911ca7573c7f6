"""A byte cap on request bodies, enforced before FastAPI reads them.

FastAPI reads a whole JSON body into memory before any dependency or handler runs, so the cap
has to live in front of it, as pure ASGI. The streaming upload route is exempt: it enforces
its own, larger limit while writing to disk.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge, envelope

DISCONNECT: Message = {"type": "http.disconnect"}


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _too_large(limit: int) -> list[Message]:
    error = PayloadTooLarge(f"Request body is larger than the {limit}-byte limit")
    body = json.dumps(envelope(error.message, error_type=error.error_type, code=error.code))
    # Connection: close, so the server stops reading the rest of a body nobody will use.
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    return [
        {"type": "http.response.start", "status": error.status_code, "headers": headers},
        {"type": "http.response.body", "body": body.encode()},
    ]


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
                    for reply in _too_large(self.limit):
                        await self.inner_send(reply)
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
            for reply in _too_large(self.max_bytes):
                await send(reply)
            return
        guard = _Guard(receive, send, self.max_bytes)
        await self.app(scope, guard.receive, guard.send)
