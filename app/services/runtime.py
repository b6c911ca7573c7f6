"""The service graph: what the lifespan of the web app, and a local ingest run, build."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.dialect import is_sqlite
from app.db.migrate import upgrade_to_head
from app.db.session import create_engine, create_session_factory
from app.engine.catalog import ModelCatalog, load_catalog, warm_up
from app.engine.tiktoken_tokenizer import TiktokenTokenizer
from app.extract import Extractor
from app.observability.metrics import Metrics
from app.services.chunk_store import ChunkStore
from app.services.concurrency.storage_lock import StorageLock
from app.services.container import Services
from app.services.documents import DocumentStore, extract_limits
from app.services.embedding_cache import EmbeddingCache
from app.services.files import FileStore
from app.services.vector_stores.dense import DenseIndex
from app.services.vector_stores.indexer import Embedder
from app.services.vector_stores.lexical import LexicalIndex
from app.services.vector_stores.queue import IndexQueue
from app.services.vector_stores.search import Searcher
from app.startup import settle


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
            lexical=LexicalIndex(),
        ),
    )


@asynccontextmanager
async def open_services(settings: Settings, metrics: Metrics) -> AsyncIterator[Services]:
    """Everything a request or an ingest run needs, built in order and torn down in reverse,
    also when a later step fails: the batch workers drain before the database goes away,
    and the storage lock is released last. The web app and `ragprep ingest` both run in it."""
    # A command's head start (app/startup.py) registers its compilations first; then this
    # starts any it did not, so OpenVINO's import and compilation overlap the steps below.
    await anyio.to_thread.run_sync(settle)
    warm_up(settings)
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
        # Everything loaded so far lives as long as the app: out of the collector's sight,
        # a full collection no longer walks it. One did, for 0.17 s with the GIL held, in
        # the middle of chunking 8 MB (measured), and /health waited for it. Unfrozen at
        # shutdown, so an app torn down in a longer-lived process can still be collected.
        gc.freeze()
        stack.callback(gc.unfreeze)
        await _start_indexing(stack, services.index_queue, shared=shared)
        yield services


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
