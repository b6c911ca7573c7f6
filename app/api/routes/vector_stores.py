"""/v1/vector_stores: OpenAI's vector stores (create, list, retrieve, update, delete, search)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.chunking import strategy_of
from app.api.deps import CatalogDep, PagingDep, ServicesDep, SessionDep, VectorStoreDep
from app.api.vector_store_wire import (
    changes_of,
    hit_object,
    search_query_of,
    spec_of,
    store_object,
)
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
from app.services.vector_stores import commands, stores

router = APIRouter(prefix="/v1/vector_stores", tags=["vector stores"])


@router.post("", response_model=VectorStore, responses=error_responses(400, 404, 413))
async def create_store(
    request: StoreCreate, session: SessionDep, catalog: CatalogDep, services: ServicesDep
) -> VectorStore:
    row = await commands.create_store(
        session,
        spec_of(request),
        file_ids=request.file_ids or [],
        strategy=strategy_of(request.chunking_strategy),
        catalog=catalog,
        queue=services.index_queue,
    )
    return store_object(await stores.summary_of(session, row))


@router.get("", response_model=VectorStoreList, responses=error_responses(400))
async def list_stores(
    session: SessionDep,
    paging: PagingDep,
) -> VectorStoreList:
    page = await stores.list_stores(session, **paging.args())
    tallies = await stores.counts(session, [row.id for row in page.rows])
    data = [store_object(stores.summary(row, *tallies[row.id])) for row in page.rows]
    return VectorStoreList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=page.has_more,
    )


@router.get("/{vector_store_id}", response_model=VectorStore, responses=error_responses(404))
async def retrieve_store(store: VectorStoreDep, session: SessionDep) -> VectorStore:
    return store_object(await stores.summary_of(session, store))


@router.post(
    "/{vector_store_id}", response_model=VectorStore, responses=error_responses(400, 404, 413)
)
async def update_store(
    request: StoreUpdate, store: VectorStoreDep, session: SessionDep
) -> VectorStore:
    await end_read(session)
    stores.apply_update(store, changes_of(request))
    await session.commit()
    return store_object(await stores.summary_of(session, store))


@router.delete(
    "/{vector_store_id}", response_model=VectorStoreDeleted, responses=error_responses(404)
)
async def delete_store(
    vector_store_id: str, session: SessionDep, services: ServicesDep
) -> VectorStoreDeleted:
    await stores.delete_store(session, vector_store_id)
    services.searcher.forget(vector_store_id)
    return VectorStoreDeleted(id=vector_store_id)


@router.post(
    "/{vector_store_id}/search",
    response_model=SearchPage,
    responses=error_responses(400, 404, 413, 429),
)
async def search_store(
    request: SearchRequest, store: VectorStoreDep, session: SessionDep, services: ServicesDep
) -> SearchPage:
    stores.require_unexpired(store)
    query = search_query_of(request)
    hits = await services.searcher.search(session, store, query)
    await stores.touch(session, store)
    return SearchPage(search_query=query.queries, data=[hit_object(hit) for hit in hits])
