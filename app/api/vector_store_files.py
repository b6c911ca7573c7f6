"""/v1/vector_stores/{id}/files and /file_batches: files queued for indexing, their status,
attributes and chunks, and batches of them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from app.api.deps import CatalogDep, ServicesDep, SessionDep, VectorStoreDep
from app.errors import InvalidRequest
from app.schemas.errors import error_responses
from app.schemas.vector_stores import (
    BatchCreate,
    FileContent,
    FileContentPage,
    FileCreate,
    FileStatus,
    FileUpdate,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileDeleted,
    VectorStoreFileList,
)
from app.services.vector_stores import batches
from app.services.vector_stores import store_files as files
from app.services.vector_stores.store_files import FileToAdd

router = APIRouter(prefix="/v1/vector_stores/{vector_store_id}", tags=["vector stores"])

Limit = Annotated[int, Query(ge=1, le=100)]
Order = Literal["asc", "desc"]
# The official client polls at this interval (ms) when the server suggests one.
POLL_AFTER_MS = "250"


@router.post("/files", response_model=VectorStoreFile, responses=error_responses(400, 404, 413))
async def add_file(
    request: FileCreate,
    store: VectorStoreDep,
    session: SessionDep,
    catalog: CatalogDep,
    services: ServicesDep,
) -> VectorStoreFile:
    wanted = FileToAdd(request.file_id, request.attributes, request.chunking_strategy)
    [row] = await files.add_files(session, store, [wanted], catalog=catalog)
    services.index_queue.notify()
    return files.wire_file(row)


@router.get("/files", response_model=VectorStoreFileList, responses=error_responses(400, 404))
async def list_files(
    store: VectorStoreDep,
    session: SessionDep,
    limit: Limit = 20,
    order: Order = "desc",
    after: str | None = None,
    before: str | None = None,
    filter: FileStatus | None = None,  # OpenAI's parameter name
) -> VectorStoreFileList:
    page = await files.list_files(
        session, store.id, status=filter, limit=limit, order=order, after=after, before=before
    )
    return _file_list([files.wire_file(row) for row in page.rows], page.has_more)


@router.get("/files/{file_id}", response_model=VectorStoreFile, responses=error_responses(404))
async def retrieve_file(
    file_id: str, store: VectorStoreDep, session: SessionDep, response: Response
) -> VectorStoreFile:
    row = await files.get_file(session, store.id, file_id)
    if row.status == "in_progress":
        response.headers["openai-poll-after-ms"] = POLL_AFTER_MS
    return files.wire_file(row)


@router.post(
    "/files/{file_id}", response_model=VectorStoreFile, responses=error_responses(400, 404, 413)
)
async def update_file(
    file_id: str, request: FileUpdate, store: VectorStoreDep, session: SessionDep
) -> VectorStoreFile:
    row = await files.get_file(session, store.id, file_id)
    return files.wire_file(await files.set_attributes(session, row, request.attributes))


@router.delete(
    "/files/{file_id}", response_model=VectorStoreFileDeleted, responses=error_responses(404)
)
async def remove_file(
    file_id: str, store: VectorStoreDep, session: SessionDep
) -> VectorStoreFileDeleted:
    await files.remove_file(session, store.id, file_id)
    return VectorStoreFileDeleted(id=file_id)


@router.get(
    "/files/{file_id}/content", response_model=FileContentPage, responses=error_responses(404)
)
async def file_content(file_id: str, store: VectorStoreDep, session: SessionDep) -> FileContentPage:
    """The file's indexed chunks, in document order (empty until it is indexed)."""
    await files.get_file(session, store.id, file_id)
    texts = await files.chunk_texts(session, store.id, file_id)
    return FileContentPage(data=[FileContent(text=text) for text in texts])


@router.post(
    "/file_batches",
    response_model=VectorStoreFileBatch,
    responses=error_responses(400, 404, 413),
)
async def create_batch(
    request: BatchCreate,
    store: VectorStoreDep,
    session: SessionDep,
    catalog: CatalogDep,
    services: ServicesDep,
) -> VectorStoreFileBatch:
    if (request.file_ids is None) == (request.files is None):
        raise InvalidRequest(
            "Give either file_ids or files (one of them, not both)", param="file_ids"
        )
    if request.files is not None:
        wanted = [FileToAdd(f.file_id, f.attributes, f.chunking_strategy) for f in request.files]
    else:
        strategy = request.chunking_strategy
        wanted = [FileToAdd(f, request.attributes, strategy) for f in request.file_ids or []]
    batch = batches.new_batch(store.id)
    await files.add_files(session, store, wanted, catalog=catalog, batch_id=batch.id)
    session.add(batch)
    await session.commit()
    services.index_queue.notify()
    return await batches.wire_batch(session, batch)


@router.get(
    "/file_batches/{batch_id}",
    response_model=VectorStoreFileBatch,
    responses=error_responses(404),
)
async def retrieve_batch(
    batch_id: str, store: VectorStoreDep, session: SessionDep, response: Response
) -> VectorStoreFileBatch:
    batch = await batches.wire_batch(session, await batches.get_batch(session, store.id, batch_id))
    if batch.status == "in_progress":
        response.headers["openai-poll-after-ms"] = POLL_AFTER_MS
    return batch


@router.post(
    "/file_batches/{batch_id}/cancel",
    response_model=VectorStoreFileBatch,
    responses=error_responses(404),
)
async def cancel_batch(
    batch_id: str, store: VectorStoreDep, session: SessionDep
) -> VectorStoreFileBatch:
    row = await batches.get_batch(session, store.id, batch_id)
    await batches.cancel_batch(session, row)
    return await batches.wire_batch(session, row)


@router.get(
    "/file_batches/{batch_id}/files",
    response_model=VectorStoreFileList,
    responses=error_responses(400, 404),
)
async def list_batch_files(
    batch_id: str,
    store: VectorStoreDep,
    session: SessionDep,
    limit: Limit = 20,
    order: Order = "desc",
    after: str | None = None,
    before: str | None = None,
    filter: FileStatus | None = None,  # OpenAI's parameter name
) -> VectorStoreFileList:
    await batches.get_batch(session, store.id, batch_id)
    page = await files.list_files(
        session,
        store.id,
        batch_id=batch_id,
        status=filter,
        limit=limit,
        order=order,
        after=after,
        before=before,
    )
    return _file_list([files.wire_file(row) for row in page.rows], page.has_more)


def _file_list(data: list[VectorStoreFile], has_more: bool) -> VectorStoreFileList:
    return VectorStoreFileList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=has_more,
    )
