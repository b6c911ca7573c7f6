"""BM25 over a store's chunks: SQLite FTS5 (Porter stemmer; the store's own table, see
lexical_index) or PostgreSQL full-text search (english configuration, ts_rank_cd)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.services.vector_stores.lexical_index import table_name

WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 64

# Any term may match (OR): BM25 ranks documents by how many and how rare.
# The table holds this store's chunks only: its BM25 statistics are the store's.
SQLITE = """
SELECT "{table}".rowid, -bm25("{table}") AS score
FROM "{table}" {join}
WHERE "{table}" MATCH :match {files}
ORDER BY bm25("{table}") LIMIT :k
"""
SQLITE_JOIN = 'JOIN vector_store_chunks AS c ON c.id = "{table}".rowid'
POSTGRES = """
SELECT c.id, ts_rank_cd(c.tsv, q) AS score
FROM vector_store_chunks AS c, to_tsquery('english', :match) AS q
WHERE c.tsv @@ q AND c.store_id = :store {files}
ORDER BY score DESC, c.id LIMIT :k
"""


def terms(query: str) -> list[str]:
    """The query's words, lower case, each once, at most MAX_TERMS."""
    return list(dict.fromkeys(w.lower() for w in WORD.findall(query)))[:MAX_TERMS]


def match_expression(words: Sequence[str], dialect: str) -> str:
    if dialect == "postgresql":
        # Quoted lexemes: words stay words, never tsquery operators.
        return " | ".join("'" + w.replace("'", "''") + "'" for w in words)
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


async def bm25(
    session: AsyncSession,
    store_id: str,
    query: str,
    k: int,
    allowed: Sequence[str] | None,
) -> list[tuple[int, float]]:
    """The best `k` (chunk id, BM25 score) of the store for the query, higher better."""
    words = terms(query)
    if not words or (allowed is not None and not allowed):
        return []
    dialect = session.get_bind().dialect.name
    files = "AND c.file_id IN :files" if allowed is not None else ""
    if dialect == "postgresql":
        statement = text(POSTGRES.format(files=files))
    else:
        table = table_name(store_id)
        join = SQLITE_JOIN.format(table=table) if allowed is not None else ""
        statement = text(SQLITE.format(table=table, join=join, files=files))
    params: dict[str, object] = {
        "match": match_expression(words, dialect),
        "store": store_id,
        "k": k,
    }
    if allowed is not None:
        statement = statement.bindparams(bindparam("files", expanding=True))
        params["files"] = list(allowed)
    try:
        rows = await session.execute(statement, params)
    except OperationalError as exc:
        # The store was deleted (its table dropped) since the search found it.
        if dialect == "sqlite" and "no such table" in str(exc.orig):
            raise NotFound(f"No such vector store: '{store_id}'", subject="store") from exc
        raise
    return [(int(chunk_id), float(score)) for chunk_id, score in rows]
