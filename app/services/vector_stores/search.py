"""Search a store: dense (cosine), lexical (BM25) or both fused by a weighted combination of
their normalized scores, over the files the filters let through."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import FileRow, VectorStoreChunkRow, VectorStoreFileRow, VectorStoreRow
from app.engine.base import Tokenizer
from app.engine.catalog import ModelCatalog
from app.engine.vectors import Vectors, shape
from app.errors import DomainError, InvalidRequest
from app.services.embedding_cache import EmbeddingCache
from app.services.embeddings import tokenize_inputs
from app.services.vector_stores.dense import DenseIndex, top_k
from app.services.vector_stores.filters import Rule, matches
from app.services.vector_stores.lexical import LexicalIndex

CANDIDATES = 100  # depth of each ranking fused
# Default hybrid weights. Measured (benchmarks/bench_retrieval.py, README "Retrieval quality")
# on two collections of real documents: a convex combination of min-max-normalized scores
# beat reciprocal rank fusion, and 0.4 dense / 0.6 BM25 was best or within 0.001 of the best
# weighting on both (all-MiniLM-L6-v2 alone ranks below BM25 there, as on BEIR SciFact).
DEFAULT_WEIGHTS = (0.4, 0.6)


@dataclass(frozen=True)
class Weights:
    """Of the dense and the lexical ranking in the fused score."""

    dense: float
    text: float

    @classmethod
    def of(cls, *, dense_only: bool, hybrid: tuple[float, float] | None) -> Weights:
        """Dense only, the given (dense, text) weights, or the default hybrid."""
        if dense_only:
            return cls(1.0, 0.0)
        if hybrid is None:
            return cls(*DEFAULT_WEIGHTS)
        if hybrid[0] == 0 and hybrid[1] == 0:
            raise InvalidRequest(
                "ranking_options.hybrid_search: at least one weight must be above 0",
                subject="weights",
            )
        return cls(*hybrid)


@dataclass(frozen=True)
class SearchQuery:
    """One search: alternative query texts, the files' filter, weights and a score floor."""

    queries: list[str]
    max_results: int
    weights: Weights
    rule: Rule | None = None
    score_threshold: float = 0.0


@dataclass(frozen=True)
class Hit:
    """A chunk found, with its file and where it lies in the file's text."""

    file_id: str
    filename: str
    score: float
    attributes: dict[str, str | bool | int | float]
    text: str
    chunk_index: int
    start: int
    end: int
    pages: list[int] | None
    headings: list[str]


@dataclass(frozen=True)
class Searcher:
    catalog: ModelCatalog
    cache: EmbeddingCache
    cl100k: Tokenizer
    dense: DenseIndex
    lexical: LexicalIndex

    def forget(self, store_id: str) -> None:
        """A deleted store's indexes leave memory."""
        self.dense.forget(store_id)
        self.lexical.forget(store_id)

    async def search(
        self, session: AsyncSession, store: VectorStoreRow, request: SearchQuery
    ) -> list[Hit]:
        queries, weights = request.queries, request.weights
        files = await _files(session, store.id)
        allowed = None
        if request.rule is not None:
            rule = request.rule
            allowed = [f for f, (_, attrs) in files.items() if matches(rule, attrs)]
        # Per query, its rankings (dense, BM25) with their weights.
        rankings: list[list[Ranking]] = [[] for _ in queries]
        if weights.dense > 0:
            vectors = await self._embed(session, store.model, queries)
            matrix = await self.dense.matrix(session, store.id, store.index_version)
            found = await anyio.to_thread.run_sync(top_k, matrix, vectors, CANDIDATES, allowed)
            for per_query, ranking in zip(rankings, found, strict=True):
                per_query.append((weights.dense, ranking))
        if weights.text > 0:
            for per_query, query in zip(rankings, queries, strict=True):
                ranking = await self.lexical.bm25(
                    session, store.id, store.index_version, query, CANDIDATES, allowed
                )
                # BM25 is unbounded: s / (1 + s) keeps its order within 0..1.
                per_query.append((weights.text, [(i, s / (1 + s)) for i, s in ranking]))
        scored = [hit for hit in _best_of(rankings) if hit[1] >= request.score_threshold]
        return await _hits(session, scored[: request.max_results], files)

    async def _embed(self, session: AsyncSession, model_name: str, queries: list[str]) -> Vectors:
        model = self.catalog.get(model_name)
        texts: list[str | list[int]] = list(queries)
        try:
            prepared = await anyio.to_thread.run_sync(
                lambda: tokenize_inputs(texts, model=model, cl100k=self.cl100k, truncate=False)
            )
        except DomainError as exc:  # its message says input[i]; the field here is `query`
            raise InvalidRequest(
                exc.message.replace("input[", "query["), subject="queries", code=exc.code
            ) from exc
        result = await self.cache.embed(session=session, model=model, sequences=prepared.sequences)
        return shape(result.vectors, normalize=True, dimensions=None)


Ranking = tuple[float, list[tuple[int, float]]]  # (weight, [(chunk id, score)] best first)


def _best_of(per_query: list[list[Ranking]]) -> list[tuple[int, float]]:
    """Several queries are alternatives: a chunk scores as well as it answers any of them."""
    best: dict[int, float] = {}
    for rankings in per_query:
        for chunk_id, score in _fuse(rankings):
            best[chunk_id] = max(score, best.get(chunk_id, 0.0))
    return sorted(best.items(), key=lambda hit: (-hit[1], hit[0]))


def _fuse(rankings: list[Ranking]) -> list[tuple[int, float]]:
    """One ranking keeps its own scores (cosine, or squashed BM25). Several are fused by a
    weighted mean of their min-max-normalized scores (a chunk missing from a ranking gets 0
    from it): 1 for a chunk first in every ranking."""
    if len(rankings) == 1:
        _, ranking = rankings[0]
        return [(i, max(0.0, min(1.0, s))) for i, s in ranking]
    total = sum(weight for weight, _ in rankings)
    fused: dict[int, float] = {}
    for weight, ranking in rankings:
        if not ranking:
            continue
        high, low = ranking[0][1], ranking[-1][1]
        for chunk_id, score in ranking:
            normalized = (score - low) / (high - low) if high > low else 1.0
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight * normalized / total
    return sorted(fused.items(), key=lambda hit: (-hit[1], hit[0]))


FileInfo = tuple[str, dict[str, str | bool | int | float]]


async def _files(session: AsyncSession, store_id: str) -> dict[str, FileInfo]:
    """Every file of the store: its name and attributes (what filters and hits need)."""
    query = (
        select(VectorStoreFileRow.file_id, FileRow.filename, VectorStoreFileRow.attributes_json)
        .join(FileRow, FileRow.id == VectorStoreFileRow.file_id)
        .where(VectorStoreFileRow.store_id == store_id)
    )
    rows = await session.execute(query)
    return {f: (name, json.loads(attrs) if attrs else {}) for f, name, attrs in rows}


async def _hits(
    session: AsyncSession, scored: Sequence[tuple[int, float]], files: dict[str, FileInfo]
) -> list[Hit]:
    if not scored:
        return []
    query = select(VectorStoreChunkRow).where(VectorStoreChunkRow.id.in_([i for i, _ in scored]))
    chunks = {row.id: row for row in await session.scalars(query)}
    hits = []
    for chunk_id, score in scored:
        row = chunks.get(chunk_id)
        if row is None or row.file_id not in files:  # removed since it was ranked
            continue
        filename, attributes = files[row.file_id]
        pages = None if row.page_first is None else [row.page_first, row.page_last or 0]
        hits.append(
            Hit(
                file_id=row.file_id,
                filename=filename,
                score=round(float(np.float32(score)), 6),
                attributes=attributes,
                text=row.text,
                chunk_index=row.chunk_index,
                start=row.start,
                end=row.end,
                pages=pages,
                headings=json.loads(row.headings),
            )
        )
    return hits
