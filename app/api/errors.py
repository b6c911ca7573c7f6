"""The error envelope: domain errors, validation errors and Starlette's own, as OpenAI shapes
them (`{"error": {"message", "type", "param", "code"}}`), with the right status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import (
    DomainError,
    InsufficientStorage,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    UnprocessableDocument,
    UnsupportedMedia,
)
from app.observability.logs import REQUEST_ID_SCOPE_KEY, current_request_id

log = logging.getLogger(__name__)


def envelope(
    message: str, *, error_type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


class RequestTimeout(DomainError):
    """The client stopped sending its request body (HTTP's own failure, not the domain's)."""

    code = "request_timeout"


# Status and OpenAI error type per domain error; a subclass answers as its nearest listed base.
STATUS: dict[type[DomainError], tuple[int, str]] = {
    DomainError: (400, "invalid_request_error"),
    Unauthorized: (401, "invalid_request_error"),  # as OpenAI types a bad key
    NotFound: (404, "invalid_request_error"),
    RequestTimeout: (408, "invalid_request_error"),
    PayloadTooLarge: (413, "invalid_request_error"),
    UnsupportedMedia: (415, "invalid_request_error"),
    UnprocessableDocument: (422, "invalid_request_error"),
    Overloaded: (429, "rate_limit_error"),
    Unavailable: (503, "server_error"),
    InsufficientStorage: (507, "server_error"),
}
# Each domain subject's request field, unless the route names its own (`param_names`); a
# subject not listed here is named as it is (model, dimensions, purpose, filename, ...).
WIRE_NAMES = {
    "file": "file_id",
    "upload": "file",
    "store": "vector_store_id",
    "batch": "batch_id",
    "inputs": "input",
    "token_ids": "tokens",
    "queries": "query",
    "capacity": "chunk_capacity",
    "overlap": "chunk_overlap",
    "strategy": "chunking_strategy",
    "weights": "ranking_options",
}


def status_of(exc: DomainError) -> tuple[int, str]:
    """The HTTP status and error type of `exc`."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    raise AssertionError("DomainError is in STATUS")


def param_names(**names: str) -> Any:
    """A route (or router) dependency naming the request fields that hold the domain's
    subjects, e.g. `param_names(file="id")` where the file id arrives as "id"."""

    def name_params(request: Request) -> None:
        request.state.param_names = names

    return Depends(name_params)


def param_of(exc: DomainError, request: Request | None) -> str | None:
    """The request field `exc` is about, in the called route's own words."""
    if exc.subject is None:
        return None
    names: dict[str, str] = getattr(request.state, "param_names", {}) if request else {}
    return names.get(exc.subject, WIRE_NAMES.get(exc.subject, exc.subject))


def error_body(exc: DomainError, request: Request | None = None) -> dict[str, Any]:
    """The envelope of `exc`; also what an NDJSON stream ends with when it is cut short."""
    _, error_type = status_of(exc)
    return envelope(exc.message, error_type=error_type, param=param_of(exc, request), code=exc.code)


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status, _ = status_of(exc)
    headers = None if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}
    return JSONResponse(error_body(exc, request), status_code=status, headers=headers)


def _json_error(first: dict[str, Any]) -> JSONResponse:
    # Its location is a character offset, not a field: say where, and name no param.
    reason = first.get("ctx", {}).get("error", "invalid JSON")
    offset = first["loc"][-1]
    message = f"The body is not valid JSON: {reason} (at character {offset})"
    body = envelope(message, error_type="invalid_request_error", code="invalid_json")
    return JSONResponse(body, status_code=400)


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return _json_error(first)
    loc = [str(p) for p in first.get("loc", ())]
    # Only the first item names where (body, query string, ...): a body field may be called
    # "query" itself (vector store search).
    if loc and loc[0] in ("body", "query", "path", "form", "header"):
        loc = loc[1:]
    if first.get("type") == "extra_forbidden" and loc:
        return _unknown_field(loc)
    # OpenAI's `param` names the request field; the full location (union branch, list index)
    # goes into the message.
    param = loc[0] if loc else None
    message = first.get("msg", "Invalid request")
    if loc:
        message = f"{message}: {'.'.join(loc)}"
    body = envelope(message, error_type="invalid_request_error", param=param, code="invalid_value")
    return JSONResponse(body, status_code=400)


def _unknown_field(loc: list[str]) -> JSONResponse:
    # As OpenAI answers a misspelt field: a 400 naming it, never silently ignored.
    message = f"Unknown field '{loc[-1]}'"
    if len(loc) > 1:
        message += f" (at {'.'.join(loc)})"
    message += ": remove it or check its spelling"
    body = envelope(
        message, error_type="invalid_request_error", param=loc[0], code="unknown_parameter"
    )
    return JSONResponse(body, status_code=400)


# Starlette's own errors (unknown route, method not allowed) in the vocabulary DomainError uses:
# an unknown route and an unknown id are both type invalid_request_error, code not_found.
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"Invalid URL ({request.method} {request.url.path})"
    code = _HTTP_CODES.get(exc.status_code)
    body = envelope(message, error_type="invalid_request_error", code=code)
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Runs outside the request-id middleware (Starlette's outermost error layer): take the id
    # from the scope, so the log line and the answer still carry it.
    request_id = request.scope.get(REQUEST_ID_SCOPE_KEY)
    token = current_request_id.set(request_id or "-")
    try:
        # Log the detail for operators; never echo internals to clients.
        log.exception("unhandled error", exc_info=exc)
    finally:
        current_request_id.reset(token)
    body = envelope("Internal server error", error_type="server_error", code="internal_error")
    headers = {"X-Request-ID": request_id} if request_id else None
    return JSONResponse(body, status_code=500, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
