"""Cancel a request's handler when its client disconnects before the response is complete.

Starlette cancels nothing on disconnect for non-streaming handlers: an abandoned 2048-input
embeddings request kept the workers busy for minutes. This pure-ASGI middleware owns the
server's `receive`: a watcher task forwards every message to the app (unbuffered, so uploads
keep their backpressure) and, once the body is read, keeps listening; `http.disconnect` before
the response ends cancels the handler task, whose CancelledError drops its queued batch work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.middleware.asgi import DISCONNECT

log = logging.getLogger(__name__)


@dataclass
class _Request:
    task: asyncio.Task[None]
    forward: MemoryObjectSendStream[Message]
    inbox: MemoryObjectReceiveStream[Message]
    responded: bool = False
    abandoned: bool = False

    async def watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == DISCONNECT["type"]:
                if not self.responded:
                    self.abandoned = True
                    self.task.cancel()
                self.forward.close()  # the app's next receive() reports the disconnect
                return
            await self.forward.send(message)

    async def send_through(self, send: Send, message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.responded = True
        await send(message)


class CancelOnDisconnect:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        if scope["type"] != "http" or task is None:
            await self.app(scope, receive, send)
            return
        forward, inbox = anyio.create_memory_object_stream[Message](0)
        request = _Request(task=task, forward=forward, inbox=inbox)
        watcher = asyncio.create_task(request.watch(receive))

        async def app_receive() -> Message:
            try:
                return await inbox.receive()
            except anyio.EndOfStream:  # the watcher saw the disconnect
                return DISCONNECT

        async def app_send(message: Message) -> None:
            await request.send_through(send, message)

        try:
            await self.app(scope, app_receive, app_send)
        except asyncio.CancelledError:
            if not request.abandoned:
                raise
            task.uncancel()  # our own cancellation, fully handled here
            log.info(
                "client left %s %s before the response; its work was dropped",
                scope.get("method"),
                scope.get("path"),
            )
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            forward.close()
            inbox.close()
