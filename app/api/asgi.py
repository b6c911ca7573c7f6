"""Answering from pure ASGI middleware, before FastAPI (and its body parsing) runs."""

from __future__ import annotations

import json

from starlette.types import Send

from app.errors import ServiceError, service_envelope


async def send_error(send: Send, error: ServiceError) -> None:
    """The error in the OpenAI envelope, closing the connection: the rest of the body will not
    be read, so the connection must not be reused for a next request."""
    body = json.dumps(service_envelope(error)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in (error.headers or {}).items()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
