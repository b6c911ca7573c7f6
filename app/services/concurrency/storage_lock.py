"""One process per storage directory: start-up sweeps the uploads and blobs it does not know,
which would destroy the work of another process sharing the directory."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = ".lock"


class StorageInUse(RuntimeError):
    """Another process (a server, an in-process `ragprep ingest`) holds the storage directory."""


class StorageLock:
    """An exclusive flock on `<storage>/.lock`, held until `release` or the process ends (the
    kernel drops it on any exit, SIGKILL included, so a crash never leaves it stale)."""

    def __init__(self, storage_dir: Path) -> None:
        self.path = storage_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StorageInUse(
                f"{self.path.parent} is in use by another ragprep process (pid {holder}); "
                "talk to that one (ragprep ingest --server URL) or give this one its own "
                "--storage-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None
