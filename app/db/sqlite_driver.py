"""SQLAlchemy's aiosqlite driver with one trip to the connection's thread per statement.

aiosqlite runs each call on its connection's own thread, and SQLAlchemy's adapter makes four
such calls per statement: open a cursor, execute, fetch the rows, close the cursor. Each is a
queue hand-off, a wake-up of the event loop and a future: about 60 us of the event loop's CPU,
so most of a simple query's cost. Here a statement's four steps run as one call on that
thread, and COMMIT or ROLLBACK outside a transaction, which sqlite3 would skip anyway, make no
trip at all. Everything else (transactions, errors, the pool) is SQLAlchemy's own aiosqlite dialect,
given this DBAPI module through `create_async_engine(..., module=...)`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)


class _Statement:
    """Stands in for an aiosqlite Cursor: `execute` opens a sqlite3 cursor, runs the statement,
    keeps its rows and attributes, and closes it, all in one call on the connection's thread."""

    arraysize = 1

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def execute(self, sql: str, parameters: Any = ()) -> _Statement:
        await self._on_thread(sql, parameters, many=False)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _Statement:
        await self._on_thread(sql, parameters, many=True)
        return self

    async def _on_thread(self, sql: str, parameters: Any, *, many: bool) -> None:
        # aiosqlite's own way to run a function on the connection's thread (what its
        # Cursor methods call); private, so tests/db/test_sqlite_driver.py pins its use.
        run: Any = self._connection._execute
        await run(self._run, sql, parameters, many=many)

    def _run(self, sql: str, parameters: Any, *, many: bool) -> None:
        cursor = self._connection._conn.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            self.description = cursor.description
            self._rows = cursor.fetchall() if cursor.description else []
            self.rowcount, self.lastrowid = cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()

    async def fetchall(self) -> Sequence[Any]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        self._rows = []


class _OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False  # close() is synchronous: nothing is open on the thread

    def _make_new_cursor(self, connection: Any) -> Any:
        return _Statement(connection)

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = _OneTripCursor

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()

    def _in_transaction(self) -> bool:
        """sqlite3 opens a transaction only before a write, and skips COMMIT and ROLLBACK
        outside one; asking first saves the trip to the thread for them: twice for every
        read-only session (its end, and the pool's reset of the connection) and once for
        every other. A plain flag read, safe from this thread while no statement runs."""
        try:
            return bool(self._connection._conn.in_transaction)
        except (ValueError, sqlite3.Error):  # closed: SQLAlchemy's own handling says so
            return True


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy's aiosqlite dialect is given, connections wrapped as above."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *args: Any, **kwargs: Any) -> _OneTripConnection:
        adapted = super().connect(*args, **kwargs)
        return _OneTripConnection(self, adapted._connection)
