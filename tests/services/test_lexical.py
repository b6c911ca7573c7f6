"""BM25 of a store deleted while it was being searched: a 404, not the database's error."""

from __future__ import annotations

import anyio
import pytest

from app.db.migrate import upgrade_to_head
from app.db.session import create_engine, create_session_factory
from app.errors import NotFound
from app.services.vector_stores import lexical, lexical_index


async def test_a_store_deleted_mid_search_is_not_found(database_url: str) -> None:
    await anyio.to_thread.run_sync(upgrade_to_head, database_url)
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await lexical_index.create(session, "vs_gone")
        await session.commit()
        assert await lexical.bm25(session, "vs_gone", "river", 10, None) == []
        await lexical_index.drop(session, "vs_gone")  # what deleting the store does
        await session.commit()
        if session.get_bind().dialect.name == "sqlite":
            with pytest.raises(NotFound, match="vs_gone"):
                await lexical.bm25(session, "vs_gone", "river", 10, None)
        else:  # one tsvector column for all stores: nothing left of it to find
            assert await lexical.bm25(session, "vs_gone", "river", 10, None) == []
    await engine.dispose()
