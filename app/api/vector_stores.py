"""/v1/vector_stores: OpenAI's vector stores (create, list, retrieve, update, delete, search)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import CatalogDep, ServicesDep, SessionDep, VectorStoreDep
from app.db.session import end_read
from app.schemas.errors import error_responses
from app.schemas.vector_search import SearchPage, SearchRequest
from app.schemas.vector_stores import (
    StoreCreate,
    StoreUpdate,
    VectorStore,
    VectorStoreDeleted,
    VectorStoreList,
)
from app.services.vector_stores import stores
from app.services.vector_stores.store_files import FileToAdd, add_files, chunk_sizes, require_files

router = APIRouter(prefix="/v1/vector_stores", tags=["vector stores"])

Limit = Annotated[int, Query(ge=1, le=100)]


@router.post("", response_model=VectorStore, responses=error_responses(400, 404, 413))
async def create_store(
    request: StoreCreate, session: SessionDep, catalog: CatalogDep, services: ServicesDep
) -> VectorStore:
    model = catalog.get(None).name
    file_ids = list(dict.fromkeys(request.file_ids or []))
    # Everything checked before anything is stored: a bad id or strategy creates no store.
    chunk_sizes(request.chunking_strategy, catalog, model)
    await require_files(session, file_ids)
    await end_read(session)
    row = stores.create_row(request, model)
    session.add(row)
    await session.commit()
    if file_ids:
        wanted = [FileToAdd(f, None, request.chunking_strategy) for f in file_ids]
        await add_files(session, row, wanted, catalog=catalog)
        services.index_queue.notify()
    return await stores.wire_one(session, row)


@router.get("", response_model=VectorStoreList, responses=error_responses(400))
async def list_stores(
    session: SessionDep,
    limit: Limit = 20,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
    before: str | None = None,
) -> VectorStoreList:
    page = await stores.list_stores(session, limit=limit, order=order, after=after, before=before)
    tallies = await stores.counts(session, [row.id for row in page.rows])
    data = [stores.wire(row, *tallies[row.id]) for row in page.rows]
    return VectorStoreList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=page.has_more,
    )


@router.get("/{vector_store_id}", response_model=VectorStore, responses=error_responses(404))
async def retrieve_store(store: VectorStoreDep, session: SessionDep) -> VectorStore:
    return await stores.wire_one(session, store)


@router.post(
    "/{vector_store_id}", response_model=VectorStore, responses=error_responses(400, 404, 413)
)
async def update_store(
    request: StoreUpdate, store: VectorStoreDep, session: SessionDep
) -> VectorStore:
    await end_read(session)
    stores.apply_update(store, request)
    await session.commit()
    return await stores.wire_one(session, store)


@router.delete(
    "/{vector_store_id}", response_model=VectorStoreDeleted, responses=error_responses(404)
)
async def delete_store(
    vector_store_id: str, session: SessionDep, services: ServicesDep
) -> VectorStoreDeleted:
    await stores.delete_store(session, vector_store_id)
    services.searcher.dense.forget(vector_store_id)
    return VectorStoreDeleted(id=vector_store_id)


@router.post(
    "/{vector_store_id}/search",
    response_model=SearchPage,
    responses=error_responses(400, 404, 413, 429),
)
async def search_store(
    request: SearchRequest, store: VectorStoreDep, session: SessionDep, services: ServicesDep
) -> SearchPage:
    hits = await services.searcher.search(session, store, request)
    await stores.touch(session, store)
    queries = [request.query] if isinstance(request.query, str) else request.query
    return SearchPage(search_query=queries, data=hits)
