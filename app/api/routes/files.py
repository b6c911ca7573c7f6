"""/v1/files: OpenAI-compatible file upload, listing, retrieval, content and deletion."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from typing import Annotated, Literal
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse

from app.api.deps import CatalogDep, FileStoreDep, ServicesDep, SessionDep
from app.api.uploads.receive import MULTIPART_OVERHEAD, receive_upload
from app.db.tables import FileRow
from app.errors import NotFound, PayloadTooLarge
from app.schemas.errors import error_responses
from app.schemas.files import FileDeleted, FileList, FileObject
from app.services import cache_purge
from app.services.documents import FileRef

router = APIRouter(prefix="/v1/files", tags=["files"])

# GET /v1/files/{id}/text keeps its body plain text (what clients read today); where the text
# came from goes in headers.
OCR_PAGES_HEADER = "X-OCR-Pages"
PAGE_COUNT_HEADER = "X-Page-Count"
_TEXT_HEADERS = {
    OCR_PAGES_HEADER: {
        "description": "Paged formats: the 1-based pages whose text OCR read, comma-separated "
        "(empty: none).",
        "schema": {"type": "string"},
    },
    PAGE_COUNT_HEADER: {
        "description": "Paged formats: the number of pages.",
        "schema": {"type": "integer"},
    },
}

READ_BYTES = 1024 * 1024

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "purpose": {"type": "string", "default": "assistants"},
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    response_model=FileObject,
    openapi_extra=UPLOAD_BODY,
    responses=error_responses(400, 413, 507),
)
async def upload_file(request: Request, store: FileStoreDep, session: SessionDep) -> FileObject:
    declared = request.headers.get("content-length")
    if (
        declared
        and declared.isdigit()
        and int(declared) > store.max_upload_bytes + MULTIPART_OVERHEAD
    ):
        raise PayloadTooLarge(
            f"File is larger than the {store.max_upload_bytes}-byte limit", subject="upload"
        )
    received = await receive_upload(
        content_type=request.headers.get("content-type", ""),
        body=request.stream(),
        uploads_dir=store.uploads_dir,
        limit=store.max_upload_bytes,
        metrics=store.metrics,
    )
    purpose = received.fields.get("purpose")
    row = await store.add_staged(session=session, staged=received.staged, purpose=purpose)
    return _file_object(row)


@router.get("", response_model=FileList, responses=error_responses(400))
async def list_files(
    store: FileStoreDep,
    session: SessionDep,
    purpose: str | None = None,
    sha256: Annotated[
        str | None, Query(description="ragprep extension: only files with this content hash.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> FileList:
    page = await store.list(
        session=session, purpose=purpose, sha256=sha256, limit=limit, order=order, after=after
    )
    data = [_file_object(row) for row in page.rows]
    return FileList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=page.has_more,
    )


@router.get("/{file_id}", response_model=FileObject, responses=error_responses(404))
async def retrieve_file(file_id: str, store: FileStoreDep, session: SessionDep) -> FileObject:
    return _file_object(await store.get(session=session, file_id=file_id))


@router.get(
    "/{file_id}/content",
    response_class=StreamingResponse,
    responses={
        # The media type is guessed from the stored filename, so any type may come back.
        200: {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
        **error_responses(404),
    },
)
async def file_content(file_id: str, store: FileStoreDep, session: SessionDep) -> StreamingResponse:
    row = await store.get(session=session, file_id=file_id)
    try:
        # Opened before responding: a concurrent delete unlinks the name, not this handle.
        handle = await anyio.open_file(store.blob_path(file_id), "rb")
    except FileNotFoundError as exc:
        raise NotFound(f"No such file: '{file_id}'", subject="file") from exc

    async def chunks() -> AsyncIterator[bytes]:
        async with handle:
            while data := await handle.read(READ_BYTES):
                yield data

    media_type = mimetypes.guess_type(row.filename)[0] or "application/octet-stream"
    headers = {"Content-Disposition": content_disposition(row.filename)}
    headers["Content-Length"] = str(row.bytes)
    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


@router.get(
    "/{file_id}/text",
    # Plain Response here, so the error responses stay documented as JSON.
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "headers": _TEXT_HEADERS,
        },
        **error_responses(404, 400, 413, 415, 422),
    },
)
async def file_text(
    file_id: str, store: FileStoreDep, session: SessionDep, services: ServicesDep
) -> PlainTextResponse:
    """ragprep extension: the text extracted from the file, which chunk offsets index into
    (in code points). Unextractable files get the same 4xx as chunking them. For paged formats
    the `X-OCR-Pages` header lists the 1-based pages whose text OCR read ("2,3"; empty: none),
    and `X-Page-Count` the number of pages."""
    file = FileRef.of(await store.get(session=session, file_id=file_id))
    document = await services.documents.get(session=session, file=file)
    headers: dict[str, str] = {}
    if document.pages:
        headers[OCR_PAGES_HEADER] = ",".join(str(page) for page in document.ocr_pages)
        headers[PAGE_COUNT_HEADER] = str(len(document.pages))
    return PlainTextResponse(document.text, headers=headers)


@router.delete("/{file_id}", response_model=FileDeleted, responses=error_responses(404))
async def delete_file(
    file_id: str, store: FileStoreDep, session: SessionDep, catalog: CatalogDep
) -> FileDeleted:
    # Looked up before the rows go (the chunks say which texts were the file's); deleted after,
    # so a 404 deletes nothing.
    vectors = await cache_purge.vectors_only_in(session, file_id=file_id, catalog=catalog)
    await store.delete(session=session, file_id=file_id)
    await cache_purge.forget(session, vectors)
    return FileDeleted(id=file_id)


def content_disposition(filename: str) -> str:
    """ASCII fallback plus RFC 5987 UTF-8 name, so any stored name is a safe header."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _file_object(row: FileRow) -> FileObject:
    return FileObject(
        id=row.id,
        bytes=row.bytes,
        created_at=row.created_at,
        filename=row.filename,
        purpose=row.purpose,
    )
