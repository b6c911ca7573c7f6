"""The chunk inspector: a static page at `/` and its assets under /static, no build step.

The page itself needs no API key; every /v1 call it makes carries the key the user enters.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
# Only the page's own scripts and styles run: document text the page shows can never execute.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


@router.get("/")
async def inspector_page() -> FileResponse:
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=headers)


def install_inspector(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
