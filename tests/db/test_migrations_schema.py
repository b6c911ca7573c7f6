"""The migrations build exactly the schema app/db/tables.py declares, and step back down."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from app.db import tables  # noqa: F401  (registers the tables)
from app.db.base import Base
from app.db.migrate import alembic_config, upgrade_to_head


def _differences(db: Path) -> list[object]:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
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
    assert {"page_first", "page_last", "headings"} <= _columns(db, "chunks")
    command.downgrade(alembic_config(url), "0001")
    assert "headings" not in _columns(db, "chunks") and not _columns(db, "documents")
    upgrade_to_head(url)
    assert _differences(db) == []
