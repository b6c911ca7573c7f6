"""Lexical search: each store's BM25 postings (bm25.py) in memory, on SQLite and PostgreSQL
alike. As for the dense matrices (dense.py), the database is the source of truth: a store's
postings are brought up to date when its index_version differs from the one loaded, by
analysing only the chunks added since and dropping those removed, so a search on any replica
right after indexing ranks the new chunks with the store's new statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import VectorStoreChunkRow
from app.services.vector_stores.bm25 import Postings, merge, query_terms
from app.services.vector_stores.rows import Rows, changes, file_mask


@dataclass(frozen=True)
class Lexicon:
    """A store's postings at one index_version, with each row's chunk id and file."""

    version: int
    rows: Rows
    postings: Postings

    @classmethod
    def empty(cls) -> Lexicon:
        return cls(-1, Rows.empty(), Postings.empty())

    def search(self, query: str, k: int, allowed: Sequence[str] | None) -> list[tuple[int, float]]:
        """Blocking: the best `k` (chunk id, BM25 score) for the query, higher better."""
        terms = query_terms(query)
        rows = self.rows
        if not terms or not len(rows.ids):
            return []
        mask = None if allowed is None else file_mask(rows.file_ids, rows.files, allowed)
        return [(int(rows.ids[row]), score) for row, score in self.postings.top(terms, k, mask)]


class LexicalIndex:
    """The postings of the stores searched in this process, each refreshed on a version change."""

    def __init__(self) -> None:
        self._lexicons: dict[str, Lexicon] = {}
        self._locks: dict[str, anyio.Lock] = {}

    def forget(self, store_id: str) -> None:
        self._lexicons.pop(store_id, None)

    async def lexicon(self, session: AsyncSession, store_id: str, version: int) -> Lexicon:
        lock = self._locks.setdefault(store_id, anyio.Lock())
        async with lock:
            current = self._lexicons.get(store_id, Lexicon.empty())
            if current.version != version:
                current = await _refresh(session, store_id, version, current)
                self._lexicons[store_id] = current
            return current

    async def bm25(
        self,
        session: AsyncSession,
        store_id: str,
        version: int,
        query: str,
        k: int,
        allowed: Sequence[str] | None,
    ) -> list[tuple[int, float]]:
        """The store's best `k` (chunk id, BM25 score) for the query, higher better."""
        if allowed is not None and not allowed:
            return []
        lexicon = await self.lexicon(session, store_id, version)
        return await anyio.to_thread.run_sync(lexicon.search, query, k, allowed)


async def _refresh(session: AsyncSession, store_id: str, version: int, old: Lexicon) -> Lexicon:
    """Keep the rows still stored, analyse only the new ones."""
    keep, loaded = await changes(session, store_id, old.rows.ids, VectorStoreChunkRow.text)
    return await anyio.to_thread.run_sync(_merge, old, keep, loaded, version)


def _merge(
    old: Lexicon, keep: npt.NDArray[np.bool_], loaded: list[tuple[int, str, str]], version: int
) -> Lexicon:
    texts = [text for _, _, text in loaded]
    return Lexicon(version, old.rows.grown(keep, loaded), merge(old.postings, keep, texts))
