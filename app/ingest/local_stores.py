"""`ragprep ingest --vector-store` against the services in this process: the same commands
the vector store routes run."""

from __future__ import annotations

from dataclasses import dataclass

from app.chunking.strategy import StaticSizes
from app.errors import DomainError
from app.ingest.local import refusal
from app.ingest.store_backend import PAGE, FileOutcome
from app.services.container import Services
from app.services.vector_stores import batches, commands, stores
from app.services.vector_stores.store_files import FileToAdd, list_files
from app.services.vector_stores.types import StoreSpec


@dataclass(frozen=True)
class LocalStores:
    services: Services

    async def find_or_create(self, name: str) -> str:
        try:
            return await self._find_or_create(name)
        except DomainError as exc:
            raise refusal(exc) from exc

    async def _find_or_create(self, name: str) -> str:
        services = self.services
        async with services.session_factory() as session:
            after = None
            while True:
                page = await stores.list_stores(
                    session, limit=PAGE, order="desc", after=after, before=None
                )
                for row in page.rows:
                    if row.name == name:
                        return row.id
                if not page.has_more:
                    break
                after = page.rows[-1].id
            created = await commands.create_store(
                session,
                StoreSpec(name=name),
                file_ids=[],
                strategy=None,
                catalog=services.catalog,
                queue=services.index_queue,
            )
            return created.id

    async def add_batch(
        self, store_id: str, file_ids: list[str], sizes: tuple[int, int] | None
    ) -> str:
        services = self.services
        strategy = None if sizes is None else StaticSizes(*sizes)
        wanted = [FileToAdd(f, None, strategy) for f in file_ids]
        try:
            async with services.session_factory() as session:
                store = await stores.get_store(session, store_id)
                batch = await commands.create_batch(
                    session, store, wanted, catalog=services.catalog, queue=services.index_queue
                )
                return batch.id
        except DomainError as exc:
            raise refusal(exc) from exc

    async def progress(self, store_id: str, batch_id: str) -> int:
        async with self.services.session_factory() as session:
            row = await batches.get_batch(session, store_id, batch_id)
            counts = (await batches.summary_of(session, row)).counts
        return counts.total - counts.in_progress

    async def outcomes(self, store_id: str, batch_id: str) -> list[FileOutcome]:
        found: list[FileOutcome] = []
        after = None
        async with self.services.session_factory() as session:
            while True:
                page = await list_files(
                    session,
                    store_id,
                    batch_id=batch_id,
                    status=None,
                    limit=PAGE,
                    order="desc",
                    after=after,
                    before=None,
                )
                found += [
                    FileOutcome(r.file_id, r.status, r.error_code, r.error_message)
                    for r in page.rows
                ]
                if not page.has_more:
                    return found
                after = page.rows[-1].file_id
