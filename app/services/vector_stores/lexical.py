"""BM25 over a store's chunks: SQLite FTS5 (Porter stemmer) or PostgreSQL full-text search
(english configuration, ts_rank_cd), both maintained by the database itself (migration 0004v)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 64

# Any term may match (OR): BM25 ranks documents by how many and how rare.
SQLITE = """
SELECT c.id, -bm25(vector_store_chunks_fts) AS score
FROM vector_store_chunks_fts JOIN vector_store_chunks AS c ON c.id = vector_store_chunks_fts.rowid
WHERE vector_store_chunks_fts MATCH :match AND c.store_id = :store {files}
ORDER BY bm25(vector_store_chunks_fts) LIMIT :k
"""
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
    sql = POSTGRES if dialect == "postgresql" else SQLITE
    files = "AND c.file_id IN :files" if allowed is not None else ""
    statement = text(sql.format(files=files))
    params: dict[str, object] = {
        "match": match_expression(words, dialect),
        "store": store_id,
        "k": k,
    }
    if allowed is not None:
        statement = statement.bindparams(bindparam("files", expanding=True))
        params["files"] = list(allowed)
    rows = await session.execute(statement, params)
    return [(int(chunk_id), float(score)) for chunk_id, score in rows]
