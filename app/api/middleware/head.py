"""HEAD on every GET route: served by the GET handler, same status and headers, no body."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # In place, so routing results (scope["route"]) stay visible to the outer middleware;
        # they read the method before calling in.
        scope["method"] = "GET"

        async def send_head(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a streamed body: only its end is passed on, empty
                # Content-Length stays the GET's, as RFC 9110 allows; only the bytes go.
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app(scope, receive, send_head)
