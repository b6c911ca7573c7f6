"""Application factory. Nothing heavy happens at import: the lifespan builds and tears down."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api import chunks, embeddings, file_embeddings, files, health, models
from app.api.body_limit import BodyLimit
from app.api.deps import RequireApiKey
from app.api.disconnect import CancelOnDisconnect
from app.api.openapi import install_openapi
from app.api.security import load_api_keys
from app.config import Settings
from app.db.migrate import upgrade_to_head
from app.db.session import create_engine, create_session_factory
from app.engine.catalog import load_catalog
from app.engine.tiktoken_tokenizer import TiktokenTokenizer
from app.errors import install_error_handlers
from app.schemas.errors import error_responses
from app.services.container import Services
from app.services.embedding_cache import EmbeddingCache
from app.services.files import FileStore
from app.services.storage_lock import StorageLock

log = logging.getLogger(__name__)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


async def _open_store(settings: Settings) -> FileStore:
    store = FileStore(
        blobs_dir=settings.blobs_dir,
        uploads_dir=settings.uploads_dir,
        max_upload_bytes=settings.max_upload_bytes,
    )
    settings.storage_dir.mkdir(parents=True, exist_ok=True)
    store.prepare()
    await anyio.to_thread.run_sync(upgrade_to_head, settings.database_url)
    return store


def _lifespan(settings: Settings) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Torn down in reverse, also when a later step fails: the batch workers drain before
        # the database goes away, and the storage lock is released last.
        async with AsyncExitStack() as stack:
            lock = StorageLock(settings.storage_dir)
            lock.acquire()  # before the sweep, which must not touch another process's files
            stack.callback(lock.release)
            store = await _open_store(settings)
            engine = create_engine(settings.database_url)
            stack.push_async_callback(engine.dispose)
            session_factory = create_session_factory(engine)
            async with session_factory() as session:
                await store.sweep_orphans(session=session)
            catalog = await anyio.to_thread.run_sync(load_catalog, settings)
            stack.push_async_callback(anyio.to_thread.run_sync, catalog.stop)
            app.state.services = Services(
                settings=settings,
                session_factory=session_factory,
                file_store=store,
                catalog=catalog,
                cl100k=TiktokenTokenizer(window=catalog.get(None).window),
                embedding_cache=EmbeddingCache(enabled=settings.embedding_cache),
            )
            yield

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="ragprep", version="0.1.0", lifespan=_lifespan(settings))
    # Read once here, so a missing or empty key file stops start-up instead of failing open.
    app.state.api_keys = load_api_keys(settings)
    install_error_handlers(app)
    app.include_router(health.router)
    for module in (files, file_embeddings, chunks, models, embeddings):
        app.include_router(
            module.router, dependencies=[RequireApiKey], responses=error_responses(401)
        )
    _install_middleware(app, settings)
    install_openapi(app)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    # The streaming upload is exempt: it enforces max_upload_bytes itself while writing to disk.
    exempt = {("POST", "/v1/files")}
    app.add_middleware(CancelOnDisconnect)  # innermost: cancels the handler, not the 413 path
    app.add_middleware(BodyLimit, max_bytes=settings.max_json_bytes, exempt=exempt)
    if settings.cors_origins:  # added last: outermost, so even a 413 carries CORS headers
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Retry-After"],
        )
