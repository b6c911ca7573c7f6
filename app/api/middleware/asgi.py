"""Answering from pure ASGI middleware, before FastAPI (and its body parsing) runs."""

from __future__ import annotations

import json

from starlette.types import Message, Receive, Send

from app.api.errors import error_body, status_of
from app.errors import DomainError

# What a handler's receive() sees once its client is gone (or a middleware refused the body).
DISCONNECT: Message = {"type": "http.disconnect"}


async def send_error(send: Send, error: DomainError, headers: dict[str, str] | None = None) -> None:
    """The error in the OpenAI envelope, closing the connection: the rest of the body will not
    be read, so the connection must not be reused for a next request."""
    body = json.dumps(error_body(error)).encode()
    extra = dict(headers or {})
    if error.retry_after is not None:
        extra["Retry-After"] = str(error.retry_after)
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in extra.items()),
        (b"connection", b"close"),
    ]
    status, _ = status_of(error)
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyGuard:
    """One request's receive/send, for middleware that may refuse a body part-way through.

    Subclasses read the body in `next_message` and call `refuse` to stop it: the error goes out
    unless the app already started answering, the app then sees a client that went away (it
    stops reading) and its late answer is dropped.
    """

    def __init__(self, receive: Receive, send: Send) -> None:
        self.inner_receive = receive
        self.inner_send = send
        self.started = False
        self.refused = False

    async def next_message(self) -> Message:
        return await self.inner_receive()

    async def refuse(self, error: DomainError) -> Message:
        self.refused = True
        if not self.started:
            # Connection: close, so the server stops reading a body nobody will use.
            await send_error(self.inner_send, error)
            self.started = True
        return DISCONNECT

    async def receive(self) -> Message:
        return DISCONNECT if self.refused else await self.next_message()

    async def send(self, message: Message) -> None:
        if self.refused:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self.inner_send(message)
