"""POST /v1/files/{id}/embeddings: chunks and vectors of a stored file; NDJSON on request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Body, Header, Response
from fastapi.responses import StreamingResponse

from app.api.chunking import chunk_params
from app.api.deps import CatalogDep, ServicesDep, SessionDep
from app.api.encoding import encode
from app.api.errors import error_body
from app.errors import DomainError, InvalidRequest
from app.schemas.embeddings import Usage
from app.schemas.errors import error_responses
from app.schemas.file_embeddings import (
    ChunkEmbedding,
    FileEmbeddingsRequest,
    FileEmbeddingsResponse,
)
from app.services.chunk_store import ChunkSet
from app.services.file_embeddings import FileEmbedder
from app.services.pipeline import EmbeddedChunk, billed_tokens

router = APIRouter(prefix="/v1/files", tags=["files"])
NDJSON = "application/x-ndjson"


@router.post(
    "/{file_id}/embeddings",
    response_model=FileEmbeddingsResponse,
    responses={
        200: {"content": {NDJSON: {}}},
        **error_responses(400, 404, 413, 415, 422, 429, 503),
    },
)
async def embed_file(
    file_id: str,
    catalog: CatalogDep,
    session: SessionDep,
    services: ServicesDep,
    accept: str = Header(default="application/json"),
    # Every field has a default, so no body at all means all defaults.
    request: Annotated[FileEmbeddingsRequest | None, Body()] = None,
) -> Response:
    request = request or FileEmbeddingsRequest()
    params = chunk_params(request, catalog)
    chunk_set = await services.chunk_store.chunk(
        session=session, file_id=file_id, filename=None, params=params
    )
    embedder = services.file_embedder(params)
    encoding = request.encoding_format
    if NDJSON in accept:
        return await _streamed(embedder, chunk_set, encoding)
    return await _whole(embedder, chunk_set, encoding, max_vectors=services.settings.max_inputs)


def _wire(step: list[EmbeddedChunk], encoding: str) -> list[ChunkEmbedding]:
    return [
        ChunkEmbedding(
            index=item.chunk.index,
            text=item.chunk.text,
            start=item.chunk.start,
            end=item.chunk.end,
            tokens=item.chunk.tokens,
            **item.chunk.provenance(),
            embedding=encode(item.vector, encoding),
            cached=item.cached,
        )
        for item in step
    ]


async def _wired(
    steps: AsyncIterator[list[EmbeddedChunk]], encoding: str
) -> AsyncIterator[list[ChunkEmbedding]]:
    async for step in steps:
        yield _wire(step, encoding)


async def _streamed(
    embedder: FileEmbedder, chunk_set: ChunkSet, encoding: str
) -> StreamingResponse:
    steps = _wired(embedder.stream(chunk_set), encoding)
    # The first step runs before the 200 goes out, so its errors (429, 503) keep their status.
    first = await anext(steps)
    return StreamingResponse(_ndjson(first, steps), media_type=NDJSON)


async def _whole(
    embedder: FileEmbedder, chunk_set: ChunkSet, encoding: str, *, max_vectors: int
) -> Response:
    # One JSON body holds no more vectors than a /v1/embeddings response may: a large file's
    # would be built whole in memory. The stream has no such bound and stays flat.
    if len(chunk_set.chunks) > max_vectors:
        raise InvalidRequest(
            f"File {chunk_set.file.id} has {len(chunk_set.chunks)} chunks; one JSON response "
            f"holds at most {max_vectors}: send 'Accept: {NDJSON}' to stream them",
            subject="file",
            code="too_many_chunks",
        )
    embedded = [item async for step in embedder.stream(chunk_set) for item in step]
    model = embedder.params.model
    body = FileEmbeddingsResponse(
        file_id=chunk_set.file.id,
        filename=chunk_set.file.filename,
        model=model.name,
        data=_wire(embedded, encoding),
        usage=Usage.of(*billed_tokens(model, embedded)),
    )
    return Response(body.model_dump_json(), media_type="application/json")


def _lines(step: list[ChunkEmbedding]) -> bytes:
    return b"".join(item.model_dump_json().encode() + b"\n" for item in step)


async def _ndjson(
    first: list[ChunkEmbedding], steps: AsyncIterator[list[ChunkEmbedding]]
) -> AsyncIterator[bytes]:
    yield _lines(first)
    try:
        async for step in steps:
            yield _lines(step)
    except DomainError as exc:
        # The 200 has gone out: the error ends the stream as a line of its own, in the
        # envelope, so a client can tell a stream cut short from a complete one.
        yield json.dumps(error_body(exc)).encode() + b"\n"
