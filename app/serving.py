"""Running the app under uvicorn with time-outs that cut slow clients off.

uvicorn bounds the request head's size (h11_max_incomplete_event_size) and the idle time
between requests (timeout_keep_alive), but not the time a client may take to send its head:
one header line every few seconds would hold a connection forever. `HeadTimeoutH11Protocol`
adds that bound; the body is bounded between chunks by app.api.middleware.body_timeout.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from types import FrameType
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.config import Settings
from app.observability.logs import configure_logging
from app.startup import collector_paused, head_start

log = logging.getLogger(__name__)


class HeadTimeoutH11Protocol(H11Protocol):
    """Closes a connection whose request head is not complete `head_timeout` seconds after
    the connection opened or the head's first byte arrived."""

    head_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm()  # a (next) request head begins; arming twice keeps the first timer
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the head is complete: the body has its own time-out

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.info("closing a connection whose request head took over %ss", self.head_timeout)
            self.transport.close()


def protocol_for(settings: Settings) -> type[HeadTimeoutH11Protocol]:
    return type(
        "ConfiguredH11Protocol",
        (HeadTimeoutH11Protocol,),
        {"head_timeout": settings.header_read_timeout},
    )


def serve(settings: Settings, *, host: str, port: int) -> None:
    configure_logging(settings.log_format)
    head_start(settings)  # OpenVINO imports and compiles while the app is imported
    # Imported only now, with logging configured: a failing import should log as the app does.
    with collector_paused():
        from app.main import create_app

        app = create_app(settings)
    # uvicorn drains in-flight requests on SIGTERM, then re-raises the signal to the handler it
    # found: let that handler make a finished graceful shutdown a clean exit (0), not a kill.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=protocol_for(settings),
        log_config=None,  # configure_logging's root handler: request ids, optional JSON
        timeout_keep_alive=settings.keep_alive_timeout,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)
