"""A request body that stalls is cut off: 408 if nothing was answered yet, then disconnect.

Bounds the time between body chunks only while the body is incomplete; after its last chunk,
receive() only waits for a disconnect (streaming responses listen for one) and is untouched.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import RequestTimeout
from app.api.middleware.asgi import BodyGuard


class _Watch(BodyGuard):
    """Times each wait for a body chunk until the last one; 408 when one takes too long."""

    def __init__(self, receive: Receive, send: Send, timeout: float) -> None:
        super().__init__(receive, send)
        self.timeout = timeout
        self.body_done = False

    async def next_message(self) -> Message:
        if self.body_done:
            return await self.inner_receive()
        with anyio.move_on_after(self.timeout):
            message = await self.inner_receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                self.body_done = True
            return message
        return await self.refuse(
            RequestTimeout(f"No request body bytes arrived for {self.timeout:g} s")
        )


class BodyTimeout:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watch = _Watch(receive, send, self.seconds)
        await self.app(scope, watch.receive, watch.send)
