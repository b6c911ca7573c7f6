"""Migration 0006b: SQLite's one FTS5 table over every store becomes one per store, with the
chunks already indexed carried over, and back again on downgrade. Migration 0007m: BM25 moves
into memory and those tables go; a downgrade builds them again from the chunks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config

from app.db.migrate import alembic_config, upgrade_to_head

# (store, file, text) of chunks indexed before the migration.
CHUNKS = [
    ("vs_a", "file-1", "The Seine flows through Paris."),
    ("vs_a", "file-1", "Bridges cross the river."),
    ("vs_b", "file-2", "The river Thames flows through London."),
]


def _fill(db: Path) -> None:
    with sqlite3.connect(db) as connection:
        for store in ("vs_a", "vs_b"):
            connection.execute(
                "INSERT INTO vector_stores VALUES (?, 'docs', NULL, NULL, 'm', NULL, 1, 1, 1, 0)",
                (store,),
            )
        for store, file_id, _ in CHUNKS:
            connection.execute(
                "INSERT OR IGNORE INTO files VALUES (?, 'f.txt', 'assistants', 1, 'h', 1, 1)",
                (file_id,),
            )
            connection.execute(
                "INSERT OR IGNORE INTO vector_store_files(store_id, file_id, created_at, "
                "created_ns, status, chunk_capacity, chunk_overlap, usage_bytes) "
                "VALUES (?, ?, 1, 1, 'completed', 510, 0, 0)",
                (store, file_id),
            )
        connection.executemany(
            'INSERT INTO vector_store_chunks(store_id, file_id, chunk_index, start, "end", '
            "tokens, text, headings, vector) VALUES (?, ?, 0, 0, 1, 1, ?, '[]', x'00')",
            CHUNKS,
        )


def _matches(db: Path, table: str, word: str) -> list[str]:
    """Texts of the chunks the FTS5 table finds for the word, best first."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            f'SELECT c.text FROM "{table}" JOIN vector_store_chunks AS c ON c.id = "{table}".rowid '
            f'WHERE "{table}" MATCH ? ORDER BY bm25("{table}")',
            (word,),
        )
        return [text for (text,) in rows]


def _full_text_indexes(db: Path) -> set[str]:
    with sqlite3.connect(db) as connection:
        query = "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'"
        return {name for (name,) in connection.execute(query)}


def _filled_at_0005h(tmp_path: Path) -> tuple[Path, str, Config]:
    """A database migrated to 0005h (one FTS5 table over every store) holding CHUNKS."""
    db = tmp_path / "ragprep.db"
    url = f"sqlite+aiosqlite:///{db}"
    config = alembic_config(url)
    command.upgrade(config, "0005h")
    _fill(db)
    return db, url, config


def test_chunks_indexed_before_move_to_their_stores_own_index_and_back(tmp_path: Path) -> None:
    db, _, config = _filled_at_0005h(tmp_path)
    assert set(_matches(db, "vector_store_chunks_fts", "flows")) == {CHUNKS[0][2], CHUNKS[2][2]}

    command.upgrade(config, "0006b")
    assert _full_text_indexes(db) == {"vector_store_fts_vs_a", "vector_store_fts_vs_b"}
    assert _matches(db, "vector_store_fts_vs_a", "flows") == [CHUNKS[0][2]]
    assert _matches(db, "vector_store_fts_vs_a", "rivers") == [CHUNKS[1][2]]  # stemmed
    assert _matches(db, "vector_store_fts_vs_b", "flows") == [CHUNKS[2][2]]

    command.downgrade(config, "0005h")
    assert _full_text_indexes(db) == {"vector_store_chunks_fts"}
    assert set(_matches(db, "vector_store_chunks_fts", "river")) == {CHUNKS[1][2], CHUNKS[2][2]}


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as connection:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}


def test_bm25_in_memory_drops_the_per_store_tables_and_back(tmp_path: Path) -> None:
    db, url, config = _filled_at_0005h(tmp_path)
    command.upgrade(config, "0006b")
    before = _tables(db)
    assert any(name.startswith("vector_store_fts_vs_a_") for name in before)  # FTS5's shadows

    upgrade_to_head(url)
    assert _full_text_indexes(db) == set()
    assert not any(name.startswith("vector_store_fts_") for name in _tables(db))
    with sqlite3.connect(db) as connection:
        texts = [t for (t,) in connection.execute("SELECT text FROM vector_store_chunks")]
        schema = "SELECT sql FROM sqlite_master WHERE name = 'vector_store_chunks'"
        (table,) = connection.execute(schema).fetchone()
        # Ids are never reused from now on: a new chunk gets one past every id ever given.
        connection.execute("DELETE FROM vector_store_chunks WHERE text = ?", (CHUNKS[2][2],))
        connection.execute(
            'INSERT INTO vector_store_chunks(store_id, file_id, chunk_index, start, "end", tokens, '
            "text, headings, vector) VALUES ('vs_a', 'file-1', 9, 0, 1, 1, 'x', '[]', x'00')"
        )
        (new_id,) = connection.execute("SELECT max(id) FROM vector_store_chunks").fetchone()
    assert sorted(texts) == sorted(text for _, _, text in CHUNKS)
    assert "AUTOINCREMENT" in table
    assert new_id == len(CHUNKS) + 1

    command.downgrade(config, "0006b")
    assert _tables(db) - {"sqlite_sequence"} == before
    assert _matches(db, "vector_store_fts_vs_a", "rivers") == [CHUNKS[1][2]]
    assert _matches(db, "vector_store_fts_vs_a", "x") == ["x"]
    assert _matches(db, "vector_store_fts_vs_b", "flows") == []  # its one chunk was deleted
