"""The migrations on both databases; replicas starting at once migrate one after the other."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from sqlalchemy import inspect

from app.db.migrate import upgrade_to_head
from app.db.session import create_engine
from tests import pg

TABLES = {
    "alembic_version",
    "files",
    "documents",
    "chunk_sets",
    "chunks",
    "embedding_cache",
    "failed_documents",
    "vector_stores",
    "vector_store_files",
    "vector_store_file_batches",
    "vector_store_chunks",
}


async def _columns(database_url: str) -> dict[str, dict[str, str]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:

            def read(sync: object) -> dict[str, dict[str, str]]:
                inspector = inspect(sync)
                return {
                    table: {c["name"]: str(c["type"]) for c in inspector.get_columns(table)}
                    for table in inspector.get_table_names()
                }

            return await connection.run_sync(read)
    finally:
        await engine.dispose()


def test_upgrade_creates_every_table_and_is_idempotent(database_url: str) -> None:
    upgrade_to_head(database_url)
    upgrade_to_head(database_url)  # a restart: nothing left to do, no error
    columns = asyncio.run(_columns(database_url))
    # No store yet: no full-text index either (SQLite's are one per store, created with it).
    assert set(columns) == TABLES
    if not database_url.startswith("sqlite"):
        # 32-bit INTEGER would overflow past 2 GiB and in 2038.
        assert columns["files"]["bytes"] == "BIGINT"
        assert columns["files"]["created_at"] == "BIGINT"


@pytest.mark.postgres
def test_replicas_migrating_at_once_both_succeed(postgres_url: str) -> None:
    code = "import sys; from app.db.migrate import upgrade_to_head; upgrade_to_head(sys.argv[1])"
    replicas = [
        subprocess.Popen([sys.executable, "-c", code, postgres_url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    errors = [proc.communicate(timeout=120)[1].decode() for proc in replicas]
    assert [proc.returncode for proc in replicas] == [0, 0, 0], errors
    assert set(asyncio.run(_columns(postgres_url))) == TABLES
    assert pg.count_rows(postgres_url, "alembic_version") == 1
