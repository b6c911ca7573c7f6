"""Typed service exceptions and the single place that maps them to OpenAI's error envelope."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.observability.logs import REQUEST_ID_SCOPE_KEY, current_request_id

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """Base of every error a client can cause; carries the HTTP status and the envelope fields."""

    status_code = 400
    error_type = "invalid_request_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers


class InvalidRequest(ServiceError):
    """The request is well-formed JSON/multipart but asks for something impossible."""


class Unauthorized(ServiceError):
    """Missing or wrong API key; OpenAI answers these with type invalid_request_error too."""

    status_code = 401
    code = "invalid_api_key"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMedia(ServiceError):
    status_code = 415
    code = "unsupported_media_type"


class InsufficientStorage(ServiceError):
    """The disk filled up while storing; nothing was kept. Retry once space is freed."""

    status_code = 507
    error_type = "server_error"
    code = "insufficient_storage"


class UnprocessableDocument(ServiceError):
    """A file of a supported type whose content cannot be extracted (encrypted, corrupt, ...)."""

    status_code = 422
    code = "unprocessable_document"


class DocumentTooLarge(PayloadTooLarge):
    """A container (DOCX, ...) whose unpacked content exceeds the extraction limit."""

    code = "document_too_large"


class Overloaded(ServiceError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "queue_full"


class Unavailable(ServiceError):
    status_code = 503
    error_type = "server_error"
    code = "unavailable"


def envelope(
    message: str, *, error_type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def service_envelope(exc: ServiceError) -> dict[str, Any]:
    return envelope(exc.message, error_type=exc.error_type, param=exc.param, code=exc.code)


def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse(service_envelope(exc), status_code=exc.status_code, headers=exc.headers)


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


# Starlette's own errors (unknown route, method not allowed) in the vocabulary ServiceError uses:
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
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
