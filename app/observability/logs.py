"""Log records carry the request id; RAGPREP_LOG_FORMAT=json writes one JSON object a line."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]

# Set by the request-id middleware for the duration of a request; worker threads started with
# anyio.to_thread inherit it, so their records carry it too.
# The request's id also lives in its ASGI scope under this key: Starlette's outermost error
# layer answers unhandled errors outside the request-id middleware and reads it from there.
REQUEST_ID_SCOPE_KEY = "ragprep.request_id"
current_request_id: ContextVar[str | None] = ContextVar("ragprep_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` ("-" outside a request) to every record passing the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # ensure_ascii keeps U+2028 and friends escaped: one object is always one line.
        return json.dumps(entry, ensure_ascii=True, default=str)


def configure_logging(log_format: LogFormat, level: int = logging.INFO) -> None:
    """One root handler for ours and uvicorn's loggers (run uvicorn with log_config=None)."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
