"""Vector store requests turned into the services' values, and their results into OpenAI's
shapes (app/schemas/vector_stores.py, vector_search.py)."""

from __future__ import annotations

import dataclasses
import json

from app.db.tables import VectorStoreFileRow
from app.errors import InvalidRequest
from app.schemas.vector_search import (
    ComparisonFilter,
    CompoundFilter,
    SearchContent,
    SearchHit,
    SearchRequest,
)
from app.schemas.vector_stores import (
    ExpiresAfter,
    FileCounts,
    LastError,
    StaticSizesOut,
    StaticStrategyOut,
    StoreCreate,
    StoreUpdate,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
)
from app.services.vector_stores import types
from app.services.vector_stores.filters import Comparison, Compound, Rule
from app.services.vector_stores.search import Hit, SearchQuery, Weights


def spec_of(request: StoreCreate) -> types.StoreSpec:
    days = request.expires_after.days if request.expires_after else None
    return types.StoreSpec(request.name, request.description, request.metadata, days)


def changes_of(request: StoreUpdate) -> types.StoreChanges:
    given = set(request.model_fields_set)
    if "expires_after" in given:
        given.add("expires_after_days")
    days = request.expires_after.days if request.expires_after else None
    return types.StoreChanges(frozenset(given), request.name, request.metadata, days)


def _counts(tally: types.FileCounts) -> FileCounts:
    return FileCounts(**dataclasses.asdict(tally))


def store_object(store: types.StoreSummary) -> VectorStore:
    row = store.row
    expires_after = None
    if row.expires_after_days is not None:
        expires_after = ExpiresAfter(anchor="last_active_at", days=row.expires_after_days)
    return VectorStore(
        id=row.id,
        created_at=row.created_at,
        name=row.name,
        description=row.description,
        usage_bytes=store.usage_bytes,
        file_counts=_counts(store.counts),
        status=store.status,
        expires_after=expires_after,
        expires_at=store.expires_at,
        last_active_at=row.last_active_at,
        metadata=json.loads(row.metadata_json) if row.metadata_json else None,
    )


def batch_object(batch: types.BatchSummary) -> VectorStoreFileBatch:
    return VectorStoreFileBatch(
        id=batch.row.id,
        created_at=batch.row.created_at,
        vector_store_id=batch.row.store_id,
        status=batch.status,
        file_counts=_counts(batch.counts),
    )


def file_object(row: VectorStoreFileRow) -> VectorStoreFile:
    error = None
    if row.status == "failed":
        error = LastError(code=row.error_code or "server_error", message=row.error_message or "")
    return VectorStoreFile(
        id=row.file_id,
        created_at=row.created_at,
        vector_store_id=row.store_id,
        status=row.status,  # type: ignore[arg-type]  # one of FileStatus, as stored
        usage_bytes=row.usage_bytes,
        last_error=error,
        attributes=json.loads(row.attributes_json) if row.attributes_json else None,
        chunking_strategy=StaticStrategyOut(
            static=StaticSizesOut(
                max_chunk_size_tokens=row.chunk_capacity, chunk_overlap_tokens=row.chunk_overlap
            )
        ),
    )


def rule_of(wire: ComparisonFilter | CompoundFilter) -> Rule:
    if isinstance(wire, CompoundFilter):
        return Compound(wire.type, [rule_of(inner) for inner in wire.filters])
    return Comparison(wire.type, wire.key, wire.value)


def search_query_of(request: SearchRequest) -> SearchQuery:
    """The search a request asks for; `rewrite_query` is refused (there is no language model
    here to rewrite with)."""
    if request.rewrite_query:
        raise InvalidRequest(
            "rewrite_query is not supported: ragprep has no language model to rewrite "
            "queries with; send the query as it should be searched",
            subject="rewrite_query",
            code="unsupported_parameter",
        )
    queries = [request.query] if isinstance(request.query, str) else list(request.query)
    options = request.ranking_options
    hybrid = None
    if options is not None and options.hybrid_search is not None:
        hybrid = (options.hybrid_search.embedding_weight, options.hybrid_search.text_weight)
    weights = Weights.of(dense_only=options is not None and options.ranker == "none", hybrid=hybrid)
    return SearchQuery(
        queries=queries,
        max_results=request.max_num_results,
        weights=weights,
        rule=rule_of(request.filters) if request.filters is not None else None,
        score_threshold=options.score_threshold if options else 0.0,
    )


def hit_object(hit: Hit) -> SearchHit:
    return SearchHit(
        file_id=hit.file_id,
        filename=hit.filename,
        score=hit.score,
        attributes=hit.attributes,
        content=[SearchContent(text=hit.text)],
        chunk_index=hit.chunk_index,
        start=hit.start,
        end=hit.end,
        pages=hit.pages,
        headings=hit.headings,
    )
