"""The migrations build exactly the schema app/db/tables.py declares, and step back down."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Integer, create_engine

from app.db import tables  # noqa: F401  (registers the tables)
from app.db.base import Base
from app.db.migrate import alembic_config, upgrade_to_head

# The full-text indexes (migrations 0004v, 0006b: one per store) are raw SQL beside the tables.
FTS5_TABLES = ("vector_store_chunks_fts", "vector_store_fts_")


def _integer_widths_alike(
    _context: object, _inspected: object, _metadata: object, inspected: Any, declared: Any, /
) -> bool | None:
    """SQLite's INTEGER already holds 64 bits: migration 0003 widens columns to BIGINT on
    PostgreSQL only, so INTEGER vs BIGINT is no difference here. Other types compare as usual."""
    if isinstance(inspected, Integer) and isinstance(declared, Integer):
        return False
    return None


def _declared_or_not_fts5(name: str | None, type_: str, _parents: object) -> bool:
    """FTS5 indexes and their shadow tables are not declared tables: not compared."""
    return not (type_ == "table" and name is not None and name.startswith(FTS5_TABLES))


def _differences(db: Path) -> list[object]:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": _integer_widths_alike, "include_name": _declared_or_not_fts5},
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return list(diff)


def _columns(db: Path, table: str) -> set[str]:
    with sqlite3.connect(db) as connection:
        return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def test_head_matches_the_declared_tables_and_downgrades_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "ragprep.db"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade_to_head(url)
    assert _differences(db) == []
    assert {"page_first", "page_last", "headings", "ocr_pages"} <= _columns(db, "chunks")
    assert "ocr_pages" in _columns(db, "documents")
    command.downgrade(alembic_config(url), "0001")
    assert "headings" not in _columns(db, "chunks") and not _columns(db, "documents")
    upgrade_to_head(url)
    assert _differences(db) == []
