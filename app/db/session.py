"""Async engine and session factory for SQLite (WAL, foreign keys, busy timeout)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def end_read(session: AsyncSession) -> None:
    """End a read transaction before writing in the same session.

    In WAL mode a transaction that read and then writes cannot wait for another writer: SQLite
    answers "database is locked" at once if anyone committed since the read began. A write
    that opens its own transaction waits up to the busy timeout instead.
    """
    await session.commit()


def create_engine(database_url: str) -> AsyncEngine:
    options: dict[str, Any] = {}
    if make_url(database_url).get_driver_name() == "aiosqlite":
        from app.db.sqlite_driver import OneTripDbapi

        options["module"] = OneTripDbapi()  # one thread hop per statement, not four
    engine = create_async_engine(database_url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
