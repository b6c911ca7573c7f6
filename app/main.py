"""Application factory. Nothing heavy happens at import: the lifespan builds and tears down."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI

from app.api import files, health
from app.config import Settings
from app.db.migrate import upgrade_to_head
from app.db.session import create_engine, create_session_factory
from app.errors import install_error_handlers
from app.services.container import Services
from app.services.files import FileStore

log = logging.getLogger(__name__)


def _lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.storage_dir.mkdir(parents=True, exist_ok=True)
        store = FileStore(
            blobs_dir=settings.blobs_dir,
            uploads_dir=settings.uploads_dir,
            max_upload_bytes=settings.max_upload_bytes,
        )
        store.prepare()
        await anyio.to_thread.run_sync(upgrade_to_head, settings.database_url)
        engine = create_engine(settings.database_url)
        session_factory = create_session_factory(engine)
        async with session_factory() as session:
            await store.sweep_orphans(session=session)
        try:
            app.state.services = Services(
                settings=settings, session_factory=session_factory, file_store=store
            )
            yield
        finally:
            await engine.dispose()

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="ragprep", version="0.1.0", lifespan=_lifespan(settings))
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(files.router)
    return app
