"""What the vector store services take and give: plain values, no wire shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.db.tables import VectorStoreFileBatchRow, VectorStoreRow

FileStatus = Literal["in_progress", "completed", "failed", "cancelled"]
StoreStatus = Literal["expired", "in_progress", "completed"]
Attributes = dict[str, str | bool | int | float]


@dataclass
class FileCounts:
    """A store's or a batch's files by status."""

    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0

    def add(self, status: str, count: int) -> None:
        setattr(self, status, getattr(self, status) + count)
        self.total += count


@dataclass(frozen=True)
class StoreSpec:
    """A store to create."""

    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    expires_after_days: int | None = None  # after its last activity


@dataclass(frozen=True)
class StoreChanges:
    """Fields to change; only those named in `given` (a `None` there clears the field)."""

    given: frozenset[str]
    name: str | None = None
    metadata: dict[str, str] | None = None
    expires_after_days: int | None = None


@dataclass(frozen=True)
class StoreSummary:
    row: VectorStoreRow
    counts: FileCounts
    usage_bytes: int
    status: StoreStatus
    expires_at: int | None


@dataclass(frozen=True)
class BatchSummary:
    row: VectorStoreFileBatchRow
    counts: FileCounts = field(default_factory=FileCounts)
    status: FileStatus = "in_progress"
