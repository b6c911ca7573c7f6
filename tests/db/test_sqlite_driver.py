"""The aiosqlite driver with one trip to the connection's thread per statement: the same results,
errors and transactions as SQLAlchemy's own, in a quarter of the trips."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Integer, String, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.db.session import create_engine, create_session_factory
from app.db.sqlite_driver import OneTripDbapi


class _Base(DeclarativeBase):
    pass


class _Note(_Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String, unique=True)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'notes.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(_Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every call aiosqlite runs on a connection's thread, by name."""
    calls: list[str] = []
    run: Any = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kw: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await run(self, fn, *args, **kw)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield calls


async def test_the_service_engine_uses_it_for_sqlite(engine: AsyncEngine) -> None:
    assert isinstance(engine.dialect.dbapi, OneTripDbapi)


async def test_orm_inserts_selects_updates_and_deletes(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session:
        note = _Note(title="paris")
        session.add(note)
        await session.commit()
        assert note.id == 1  # lastrowid reached the ORM
        await session.execute(insert(_Note), [{"title": "lyon"}, {"title": "nice"}])  # many
        await session.commit()
        titles = (await session.scalars(select(_Note.title).order_by(_Note.id))).all()
        assert titles == ["paris", "lyon", "nice"]
        changed = await session.execute(
            update(_Note).where(_Note.id > 1).values(title=_Note.title + "!")
        )
        assert changed.rowcount == 2  # type: ignore[attr-defined]
        returned = await session.execute(
            insert(_Note).values(title="lille").returning(_Note.id, _Note.title)
        )
        assert returned.all() == [(4, "lille")]
        removed = await session.execute(delete(_Note).where(_Note.title.like("%!")))
        assert removed.rowcount == 2  # type: ignore[attr-defined]
        await session.commit()
    async with sessions() as session:
        assert (await session.scalars(select(_Note.title).order_by(_Note.id))).all() == [
            "paris",
            "lille",
        ]


async def test_a_failed_statement_raises_and_its_transaction_rolls_back(
    engine: AsyncEngine,
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session:
        session.add(_Note(title="paris"))
        await session.commit()
        session.add(_Note(title="rome"))
        await session.flush()
        with pytest.raises(IntegrityError):
            await session.execute(insert(_Note).values(title="paris"))
        await session.rollback()
    async with sessions() as session:
        assert (await session.scalars(select(_Note.title))).all() == ["paris"]  # no rome


async def test_a_statement_is_one_trip_where_sqlalchemys_driver_takes_four(
    engine: AsyncEngine, tmp_path: Path, trips: list[str]
) -> None:
    stock = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'notes.db'}")
    try:
        counts = []
        for each in (engine, stock):
            async with each.connect() as connection:
                await connection.execute(text("select 1"))  # the connection is open
                trips.clear()
                rows = (await connection.execute(select(_Note.id, _Note.title))).all()
                assert rows == []
                counts.append(len(trips))
        assert counts == [1, 4]
    finally:
        await stock.dispose()


async def test_commit_and_rollback_make_a_trip_only_inside_a_transaction(
    engine: AsyncEngine, trips: list[str]
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await session.get(_Note, 1)  # opens the connection
    trips.clear()
    async with sessions() as session:
        await session.get(_Note, 1)
        await session.commit()
    assert trips == ["_run"]  # a read opens no sqlite3 transaction: nothing to end
    trips.clear()
    async with sessions() as session:
        session.add(_Note(title="paris"))
        await session.commit()
    assert trips == ["_run", "commit"]  # not followed by the pool's reset rollback


async def test_a_session_closed_inside_a_transaction_still_rolls_back(
    engine: AsyncEngine, trips: list[str]
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session:
        session.add(_Note(title="paris"))
        await session.flush()
        trips.clear()
    assert trips == ["rollback"]
    async with sessions() as session:
        assert (await session.scalars(select(_Note))).all() == []
