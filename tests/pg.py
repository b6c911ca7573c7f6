"""Throwaway PostgreSQL databases on the server named by RAGPREP_TEST_DATABASE_URL.

`.ci/with-postgres.sh` starts such a server (make test-pg); without the variable the database
tests run on SQLite and tests needing PostgreSQL skip with the reason below.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy.engine import URL, make_url

ENV = "RAGPREP_TEST_DATABASE_URL"
SKIP_REASON = (
    f"needs a PostgreSQL server: set {ENV} (make test starts one via .ci/with-postgres.sh)"
)


def server_url() -> URL | None:
    raw = os.environ.get(ENV)
    return make_url(raw) if raw else None


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(url: URL, *statements: str) -> None:
    """Run statements on the server's maintenance database, in a thread of its own so that a
    caller inside a running event loop is not disturbed."""
    import asyncpg

    async def run() -> None:
        connection: Any = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped afterwards."""
    url = server_url()
    if url is None:
        pytest.skip(SKIP_REASON)
    name = f"ragprep_test_{uuid4().hex[:16]}"
    _admin(url, f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def count_rows(database_url: str, table: str) -> int:
    """Rows in `table`, on whichever database the URL names (tests only: a fixed table name)."""
    from sqlalchemy import text

    from app.db.session import create_engine

    async def run() -> int:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                count = await connection.scalar(text(f"SELECT count(*) FROM {table}"))
        finally:
            await engine.dispose()
        return int(count or 0)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()
