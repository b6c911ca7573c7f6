"""/v1/vector_stores/{id}/files and /file_batches: files queued for indexing, their status,
attributes and chunks, and batches of them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.chunking import strategy_of
from app.api.deps import CatalogDep, PagingDep, ServicesDep, SessionDep, VectorStoreDep
from app.api.vector_store_wire import batch_object, file_object
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
from app.services.vector_stores import batches, commands
from app.services.vector_stores import store_files as files
from app.services.vector_stores.store_files import FileToAdd

router = APIRouter(prefix="/v1/vector_stores/{vector_store_id}", tags=["vector stores"])

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
    wanted = FileToAdd(request.file_id, request.attributes, strategy_of(request.chunking_strategy))
    [row] = await files.add_files(session, store, [wanted], catalog=catalog)
    services.index_queue.notify()
    return file_object(row)


@router.get("/files", response_model=VectorStoreFileList, responses=error_responses(400, 404))
async def list_files(
    store: VectorStoreDep,
    session: SessionDep,
    paging: PagingDep,
    filter: FileStatus | None = None,  # OpenAI's parameter name
) -> VectorStoreFileList:
    page = await files.list_files(session, store.id, status=filter, **paging.args())
    return _file_list([file_object(row) for row in page.rows], page.has_more)


@router.get("/files/{file_id}", response_model=VectorStoreFile, responses=error_responses(404))
async def retrieve_file(
    file_id: str, store: VectorStoreDep, session: SessionDep, response: Response
) -> VectorStoreFile:
    row = await files.get_file(session, store.id, file_id)
    if row.status == "in_progress":
        response.headers["openai-poll-after-ms"] = POLL_AFTER_MS
    return file_object(row)


@router.post(
    "/files/{file_id}", response_model=VectorStoreFile, responses=error_responses(400, 404, 413)
)
async def update_file(
    file_id: str, request: FileUpdate, store: VectorStoreDep, session: SessionDep
) -> VectorStoreFile:
    row = await files.get_file(session, store.id, file_id)
    return file_object(await files.set_attributes(session, row, request.attributes))


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
            "Give either file_ids or files (one of them, not both)", subject="file_ids"
        )
    if request.files is not None:
        wanted = [
            FileToAdd(f.file_id, f.attributes, strategy_of(f.chunking_strategy))
            for f in request.files
        ]
    else:
        strategy = strategy_of(request.chunking_strategy)
        wanted = [FileToAdd(f, request.attributes, strategy) for f in request.file_ids or []]
    batch = await commands.create_batch(
        session, store, wanted, catalog=catalog, queue=services.index_queue
    )
    return batch_object(await batches.summary_of(session, batch))


@router.get(
    "/file_batches/{batch_id}",
    response_model=VectorStoreFileBatch,
    responses=error_responses(404),
)
async def retrieve_batch(
    batch_id: str, store: VectorStoreDep, session: SessionDep, response: Response
) -> VectorStoreFileBatch:
    row = await batches.get_batch(session, store.id, batch_id)
    batch = batch_object(await batches.summary_of(session, row))
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
    return batch_object(await batches.summary_of(session, row))


@router.get(
    "/file_batches/{batch_id}/files",
    response_model=VectorStoreFileList,
    responses=error_responses(400, 404),
)
async def list_batch_files(
    batch_id: str,
    store: VectorStoreDep,
    session: SessionDep,
    paging: PagingDep,
    filter: FileStatus | None = None,  # OpenAI's parameter name
) -> VectorStoreFileList:
    await batches.get_batch(session, store.id, batch_id)
    page = await files.list_files(
        session,
        store.id,
        batch_id=batch_id,
        status=filter,
        **paging.args(),
    )
    return _file_list([file_object(row) for row in page.rows], page.has_more)


def _file_list(data: list[VectorStoreFile], has_more: bool) -> VectorStoreFileList:
    return VectorStoreFileList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=has_more,
    )
