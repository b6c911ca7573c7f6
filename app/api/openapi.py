"""The OpenAPI document as the service really answers: validation errors are 400, not 422."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fastapi import FastAPI

from app.api.middleware.auth_gate import in_areas

# Every /v1 route declares its errors with this model (401 at least), so it is always defined.
ENVELOPE = {"$ref": "#/components/schemas/ErrorResponse"}
BEARER = {
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "Needed only when RAGPREP_API_KEYS or RAGPREP_API_KEY_FILE is set.",
    }
}


def _validation_is_400(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.get("responses", {})
    if responses.pop("422", None) is None:
        return
    # app/errors.py answers RequestValidationError with 400 in the OpenAI envelope.
    responses.setdefault(
        "400",
        {"description": "Bad Request", "content": {"application/json": {"schema": ENVELOPE}}},
    )


def _fix(document: dict[str, Any], keyed_areas: Collection[str]) -> None:
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            _validation_is_400(operation)
            if in_areas(path, keyed_areas):  # ApiKeyGate checks these; say so in the document
                operation["security"] = [{name: []} for name in BEARER]
    if keyed_areas:
        document.setdefault("components", {}).setdefault("securitySchemes", {}).update(BEARER)
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def install_openapi(app: FastAPI, *, keyed_areas: Collection[str]) -> None:
    """Wrap FastAPI's generator; it caches the document, which is fixed once, in place."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _fix(generate(), keyed_areas)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
