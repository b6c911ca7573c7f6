"""Request dependencies as Annotated aliases; everything comes from the lifespan state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Literal, TypedDict

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import VectorStoreRow
from app.engine.catalog import ModelCatalog
from app.services.container import Services
from app.services.files import FileStore
from app.services.vector_stores.stores import get_store


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.session_factory() as session:
        yield session


def get_file_store(services: ServicesDep) -> FileStore:
    return services.file_store


# Closed when the handler returns, not after the response is sent: a slow download or a long
# NDJSON stream must not hold a pooled connection (15 of them would starve every route).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def get_catalog(services: ServicesDep) -> ModelCatalog:
    return services.catalog


FileStoreDep = Annotated[FileStore, Depends(get_file_store)]
CatalogDep = Annotated[ModelCatalog, Depends(get_catalog)]


async def get_vector_store(vector_store_id: str, session: SessionDep) -> VectorStoreRow:
    """The store named in the path (404 if there is none)."""
    return await get_store(session, vector_store_id)


VectorStoreDep = Annotated[VectorStoreRow, Depends(get_vector_store)]


class PageArgs(TypedDict):
    limit: int
    order: Literal["asc", "desc"]
    after: str | None
    before: str | None


@dataclass(frozen=True)
class Paging:
    """OpenAI's list parameters: a page of `limit` items in `order`, after or before a cursor."""

    limit: int
    order: Literal["asc", "desc"]
    after: str | None
    before: str | None

    def args(self) -> PageArgs:
        """As the services' list functions take them."""
        return PageArgs(limit=self.limit, order=self.order, after=self.after, before=self.before)


def get_paging(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
    before: str | None = None,
) -> Paging:
    return Paging(limit, order, after, before)


PagingDep = Annotated[Paging, Depends(get_paging)]
