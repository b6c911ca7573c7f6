"""What differs between the two supported databases, SQLite and PostgreSQL, in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, text
from sqlalchemy.engine import make_url
from sqlalchemy.sql.dml import Insert

# pg_advisory_xact_lock key serialising migrations of replicas starting at once ("ragprep" in
# ASCII, so it will not collide with another application's locks on a shared server).
MIGRATION_LOCK_KEY = 0x72616770726570


def is_sqlite(database_url: str) -> bool:
    """SQLite is one file on one machine: one process owns it (and the storage dir beside it)."""
    return make_url(database_url).get_backend_name() == "sqlite"


def insert_ignoring_duplicates(table: type[Any] | Table, dialect_name: str) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING in the dialect's form: rows whose key is stored
    already (by a concurrent request or another replica) are skipped, never an error."""
    # Imported here: PostgreSQL's dialect package (hstore, ranges, ...) costs a SQLite start
    # about 70 ms of imports, and each database needs only its own.
    if dialect_name == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement: Insert = postgresql.insert(table).on_conflict_do_nothing()
        return statement
    from sqlalchemy.dialects import sqlite

    statement = sqlite.insert(table).on_conflict_do_nothing()
    return statement


def lock_migrations(connection: Connection) -> None:
    """Serialise migrations across processes: PostgreSQL replicas starting at once would
    otherwise both see an old revision and both run its upgrade. Held to the transaction's end.
    SQLite needs none: its single writer (and the storage lock) serialise them already."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
