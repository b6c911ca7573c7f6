"""A request body that stalls is cut off: 408 if nothing was answered yet, then disconnect.

Bounds the time between body chunks only while the body is incomplete; after its last chunk,
receive() only waits for a disconnect (streaming responses listen for one) and is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.asgi import send_error
from app.errors import ServiceError

DISCONNECT: Message = {"type": "http.disconnect"}


class RequestTimeout(ServiceError):
    status_code = 408
    code = "request_timeout"


@dataclass
class _Watch:
    inner_receive: Receive
    inner_send: Send
    timeout: float
    body_done: bool = False
    started: bool = False
    expired: bool = False

    async def receive(self) -> Message:
        if self.expired:
            return DISCONNECT
        if self.body_done:
            return await self.inner_receive()
        with anyio.move_on_after(self.timeout):
            message = await self.inner_receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                self.body_done = True
            return message
        self.expired = True
        if not self.started:
            await send_error(
                self.inner_send,
                RequestTimeout(f"No request body bytes arrived for {self.timeout:g} s"),
            )
            self.started = True
        return DISCONNECT

    async def send(self, message: Message) -> None:
        if self.expired:
            return  # the 408 went out; the app's late answer is dropped
        if message["type"] == "http.response.start":
            self.started = True
        await self.inner_send(message)


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
