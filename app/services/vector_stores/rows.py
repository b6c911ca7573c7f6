"""What the in-memory indexes of a store (dense.py, lexical.py) share: which chunk rows changed
since the version loaded, and which rows a filter on files lets through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import VectorStoreChunkRow

_LOAD_SLICE = 500  # ids per IN (...) when loading new rows


@dataclass(frozen=True)
class Rows:
    """An index's rows: each one's chunk id and file (a code into file_ids)."""

    ids: npt.NDArray[np.int64]
    files: npt.NDArray[np.int32]
    file_ids: tuple[str, ...]

    @classmethod
    def empty(cls) -> Rows:
        return cls(np.empty(0, np.int64), np.empty(0, np.int32), ())

    def grown(self, keep: npt.NDArray[np.bool_], loaded: Sequence[tuple[int, str, Any]]) -> Rows:
        """The rows `keep` keeps, in order, then one per loaded (id, file id, value)."""
        file_ids = list(self.file_ids)
        codes = {f: i for i, f in enumerate(file_ids)}
        for _, file_id, _ in loaded:
            if file_id not in codes:
                codes[file_id] = len(file_ids)
                file_ids.append(file_id)
        ids = np.array([i for i, _, _ in loaded], np.int64)
        files = np.array([codes[f] for _, f, _ in loaded], np.int32)
        return Rows(
            ids=np.concatenate([self.ids[keep], ids]),
            files=np.concatenate([self.files[keep], files]),
            file_ids=tuple(file_ids),
        )


async def changes(
    session: AsyncSession, store_id: str, old_ids: npt.NDArray[np.int64], column: Any
) -> tuple[npt.NDArray[np.bool_], list[tuple[int, str, Any]]]:
    """Which old rows are still stored (`keep`), and (id, file id, column) of the new ones:
    ids alone say which, so only the new rows' values are read. Ends the transaction."""
    where = VectorStoreChunkRow.store_id == store_id
    ids = np.fromiter(
        await session.scalars(select(VectorStoreChunkRow.id).where(where)), dtype=np.int64
    )
    keep = np.isin(old_ids, ids)
    new_ids = np.setdiff1d(ids, old_ids[keep], assume_unique=True).tolist()
    columns = (VectorStoreChunkRow.id, VectorStoreChunkRow.file_id, column)
    loaded: list[tuple[int, str, Any]] = []
    if len(new_ids) == len(ids):  # a first load: one scan, not thousands of IN lists
        loaded = [(r[0], r[1], r[2]) for r in await session.execute(select(*columns).where(where))]
    else:
        for start in range(0, len(new_ids), _LOAD_SLICE):
            part = new_ids[start : start + _LOAD_SLICE]
            query = select(*columns).where(VectorStoreChunkRow.id.in_(part))
            loaded.extend((r[0], r[1], r[2]) for r in await session.execute(query))
    await session.commit()
    return keep, loaded


def file_mask(
    file_ids: Sequence[str], files: npt.NDArray[np.int32], allowed: Sequence[str]
) -> npt.NDArray[np.bool_]:
    """Per row: is its file among those allowed."""
    wanted = set(allowed)
    allowed_codes = np.zeros(len(file_ids), np.bool_)
    allowed_codes[[i for i, f in enumerate(file_ids) if f in wanted]] = True
    return allowed_codes[files]  # one lookup per row (np.isin sorts: slower)
