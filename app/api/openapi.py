"""The OpenAPI document as the service really answers: validation errors are 400, not 422."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

# Every /v1 route declares its errors with this model (401 at least), so it is always defined.
ENVELOPE = {"$ref": "#/components/schemas/ErrorResponse"}


def _validation_is_400(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.get("responses", {})
    if responses.pop("422", None) is None:
        return
    # app/errors.py answers RequestValidationError with 400 in the OpenAI envelope.
    responses.setdefault(
        "400",
        {"description": "Bad Request", "content": {"application/json": {"schema": ENVELOPE}}},
    )


def _fix(document: dict[str, Any]) -> None:
    for path in document.get("paths", {}).values():
        for operation in path.values():
            _validation_is_400(operation)
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def install_openapi(app: FastAPI) -> None:
    """Wrap FastAPI's generator; it caches the document, which is fixed once, in place."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _fix(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
