"""Application factory. Nothing heavy happens at import: the lifespan builds and tears down."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api import (
    chunks,
    embeddings,
    file_embeddings,
    files,
    health,
    models,
    tokenize,
    vector_store_files,
    vector_stores,
)
from app.api import metrics as metrics_api
from app.api.auth_gate import ApiKeyGate, keyed_areas
from app.api.body_limit import BodyLimit
from app.api.body_timeout import BodyTimeout
from app.api.disconnect import CancelOnDisconnect
from app.api.head import HeadAsGet
from app.api.inspector import install_inspector
from app.api.metrics import HttpMetrics
from app.api.openapi import install_openapi
from app.api.request_id import RequestId
from app.api.security import load_api_keys
from app.api.shutdown_guard import ShutdownGuard
from app.config import Settings
from app.db.dialect import is_sqlite
from app.db.migrate import upgrade_to_head
from app.db.session import create_engine, create_session_factory
from app.engine.catalog import ModelCatalog, load_catalog, warm_up
from app.engine.tiktoken_tokenizer import TiktokenTokenizer
from app.errors import install_error_handlers
from app.extract import Extractor
from app.observability.metrics import Metrics
from app.schemas.errors import error_responses
from app.services.chunk_store import ChunkStore
from app.services.container import Services
from app.services.documents import DocumentStore, extract_limits
from app.services.embedding_cache import EmbeddingCache
from app.services.files import FileStore
from app.services.storage_lock import StorageLock
from app.services.vector_stores.dense import DenseIndex
from app.services.vector_stores.indexer import Embedder
from app.services.vector_stores.queue import IndexQueue
from app.services.vector_stores.search import Searcher

log = logging.getLogger(__name__)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
# Behind API keys (when configured): ApiKeyGate protects the first path segment of every route
# here ("/v1", "/embeddings", "/metrics"); public routes (health, the inspector) stay outside.
KEYED_ROUTERS = tuple(
    module.router
    for module in (
        files,
        file_embeddings,
        chunks,
        models,
        embeddings,
        tokenize,
        vector_stores,
        vector_store_files,
        metrics_api,
    )
)


async def _open_store(settings: Settings, metrics: Metrics, *, shared: bool) -> FileStore:
    store = FileStore(
        blobs_dir=settings.blobs_dir,
        uploads_dir=settings.uploads_dir,
        max_upload_bytes=settings.max_upload_bytes,
        metrics=metrics,
        orphan_grace=settings.orphan_grace_seconds if shared else 0.0,
    )
    settings.storage_dir.mkdir(parents=True, exist_ok=True)
    store.prepare()
    await anyio.to_thread.run_sync(upgrade_to_head, settings.database_url)
    return store


def _services(
    settings: Settings,
    store: FileStore,
    session_factory: async_sessionmaker[AsyncSession],
    catalog: ModelCatalog,
    extractor: Extractor,
    metrics: Metrics,
) -> Services:
    documents = DocumentStore(
        files=store,
        extractor=extractor,
        limits=extract_limits(settings),
        metrics=metrics,
        failures=settings.failed_documents,
    )
    cl100k = TiktokenTokenizer(window=catalog.get(None).window)
    cache = EmbeddingCache(enabled=settings.embedding_cache, metrics=metrics)
    chunk_store = ChunkStore(
        files=store,
        documents=documents,
        cl100k=cl100k,
        metrics=metrics,
        timeout=settings.chunk_timeout,
    )
    return Services(
        settings=settings,
        session_factory=session_factory,
        file_store=store,
        catalog=catalog,
        cl100k=cl100k,
        embedding_cache=cache,
        metrics=metrics,
        documents=documents,
        chunk_store=chunk_store,
        index_queue=IndexQueue(
            session_factory=session_factory,
            catalog=catalog,
            embedder=Embedder(chunk_store=chunk_store, cache=cache, cl100k=cl100k),
            workers=settings.index_workers,
            lease_seconds=settings.index_lease_seconds,
        ),
        searcher=Searcher(
            catalog=catalog,
            cache=cache,
            cl100k=cl100k,
            dense=DenseIndex(settings.vector_index_min_chunks),
        ),
    )


def _lifespan(settings: Settings, metrics: Metrics) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Torn down in reverse, also when a later step fails: the batch workers drain before
        # the database goes away, and the storage lock is released last.
        warm_up(settings)  # OpenVINO's import and compilation overlap the database steps below
        async with AsyncExitStack() as stack:
            shared = not is_sqlite(settings.database_url)
            if not shared:
                # SQLite: one process owns database and storage, so it may sweep everything.
                # With PostgreSQL, replicas share the storage dir; the sweep's grace period
                # keeps it off their work instead.
                lock = StorageLock(settings.storage_dir)
                lock.acquire()  # before the sweep, which must not touch another process's files
                stack.callback(lock.release)
            store = await _open_store(settings, metrics, shared=shared)
            engine = create_engine(settings.database_url)
            stack.push_async_callback(engine.dispose)
            session_factory = create_session_factory(engine)
            async with session_factory() as session:
                await store.sweep_orphans(session=session)
            catalog = await anyio.to_thread.run_sync(load_catalog, settings, metrics)
            stack.push_async_callback(anyio.to_thread.run_sync, catalog.stop)
            # Worker processes start on the first PDF/HTML/Office document.
            extractor = Extractor(workers=settings.extract_workers)
            stack.callback(extractor.close)
            services = _services(settings, store, session_factory, catalog, extractor, metrics)
            app.state.services = services
            # Everything loaded so far lives as long as the app: out of the collector's sight,
            # a full collection no longer walks it. One did, for 0.17 s with the GIL held, in
            # the middle of chunking 8 MB (measured), and /health waited for it. Unfrozen at
            # shutdown, so an app torn down in a longer-lived process can still be collected.
            gc.freeze()
            stack.callback(gc.unfreeze)
            await _start_indexing(stack, services.index_queue, shared=shared)
            yield

    return lifespan


INDEXING_STOP_GRACE_SECONDS = 5.0


async def _start_indexing(stack: AsyncExitStack, queue: IndexQueue, *, shared: bool) -> None:
    """Background workers indexing vector store files; stopped before the engine is disposed
    (an interrupted job stays claimed and is resumed: at once with SQLite, after the lease
    with PostgreSQL, whose other replicas cannot tell a restart from a crash)."""
    if not shared:
        await queue.release_own_claims()
    # A task, not a task group held open across the lifespan's yield: the lifespan may be
    # torn down from another task than the one that started it (tests' fixtures are).
    task = asyncio.get_running_loop().create_task(queue.run(), name="vector-store-indexing")

    async def stop() -> None:
        queue.stop()
        # A job in progress may take long (a large file): it is cut off after a grace period
        # and resumed at the next start, as the docstring says.
        done, _ = await asyncio.wait({task}, timeout=INDEXING_STOP_GRACE_SECONDS)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # Per app, not the process-wide default registry: the middleware counts from the start.
    metrics = Metrics()
    app = FastAPI(title="ragprep", version="0.1.0", lifespan=_lifespan(settings, metrics))
    # Read once here, so a missing or empty key file stops start-up instead of failing open.
    app.state.api_keys = load_api_keys(settings)
    install_error_handlers(app)
    app.include_router(health.router)
    for router in KEYED_ROUTERS:
        app.include_router(router, responses=error_responses(401))
    install_inspector(app)
    areas = keyed_areas(KEYED_ROUTERS)
    _install_middleware(app, settings, metrics, areas)
    install_openapi(app, keyed_areas=areas)
    return app


def _install_middleware(
    app: FastAPI, settings: Settings, metrics: Metrics, keyed: tuple[str, ...]
) -> None:
    # Each add wraps the ones before: the last added runs first on a request.
    # The streaming upload is exempt: it enforces max_upload_bytes itself while writing to disk.
    exempt = {("POST", "/v1/files")}
    app.add_middleware(CancelOnDisconnect)  # innermost: cancels the handler, not the 413 path
    app.add_middleware(BodyLimit, max_bytes=settings.max_json_bytes, exempt=exempt)
    app.add_middleware(BodyTimeout, seconds=settings.body_read_timeout)
    # Before any body byte is read or parsed.
    app.add_middleware(ApiKeyGate, keys=app.state.api_keys, areas=keyed)
    app.add_middleware(HeadAsGet)
    app.add_middleware(ShutdownGuard)
    app.add_middleware(HttpMetrics, metrics=metrics)
    app.add_middleware(RequestId)
    if settings.cors_origins:  # added last: outermost, so even a 413 carries CORS headers
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Retry-After", "X-Request-ID", "X-OCR-Pages", "X-Page-Count"],
        )
