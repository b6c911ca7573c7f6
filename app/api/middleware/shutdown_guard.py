"""A request cut by shutdown (uvicorn cancels what outlives the graceful time-out) gets a 503
in the error envelope instead of uvicorn's plain-text 500."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.middleware.asgi import send_error
from app.errors import Unavailable


class ShutdownGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except asyncio.CancelledError:
            if not started:
                error = Unavailable(
                    "The server is shutting down and could not finish this request; retry it",
                    code="shutting_down",
                    retry_after=1,
                )
                await send_error(send, error)
            raise
