"""OpenAI list pagination (limit, order, after, before, has_more) over a (created_ns, id) key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidRequest

T = TypeVar("T")
Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    has_more: bool


@dataclass(frozen=True)
class Cursors:
    """Where a page starts or ends: the sort keys of the `after` and `before` objects."""

    after: tuple[Any, ...] | None
    before: tuple[Any, ...] | None


def missing_cursor(name: str, value: str) -> InvalidRequest:
    return InvalidRequest(f"No such object for '{name}': '{value}'", subject=name)


async def fetch_page(
    session: AsyncSession,
    query: Select[Any],
    key: Sequence[Any],
    *,
    order: Order,
    limit: int,
    cursors: Cursors,
) -> Page[Any]:
    """Rows of `query` ordered by the `key` columns. With only `before`, the page is the one
    ending just before that object (read backwards, returned in `order`)."""
    columns = tuple_(*key)
    ascending = order == "asc"
    if cursors.after is not None:
        bound = tuple_(*cursors.after)
        query = query.where(columns > bound if ascending else columns < bound)
    if cursors.before is not None:
        bound = tuple_(*cursors.before)
        query = query.where(columns < bound if ascending else columns > bound)
    backwards = cursors.before is not None and cursors.after is None
    if ascending != backwards:
        query = query.order_by(*key)
    else:
        query = query.order_by(*(column.desc() for column in key))
    rows = list((await session.execute(query.limit(limit + 1))).all())
    has_more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    return Page(rows=rows, has_more=has_more)
