"""One process per storage directory: a second one is refused before it sweeps anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.config import Settings
from app.services.concurrency.storage_lock import StorageInUse, StorageLock
from tests.conftest import AppRunner


def test_second_holder_is_refused_until_the_first_releases(tmp_path: Path) -> None:
    first, second = StorageLock(tmp_path), StorageLock(tmp_path)
    first.acquire()
    with pytest.raises(StorageInUse) as refused:
        second.acquire()
    assert f"pid {os.getpid()}" in str(refused.value)
    assert "--server" in str(refused.value)
    first.release()
    second.acquire()
    second.release()


async def test_a_second_app_on_the_same_storage_does_not_start(
    run_app: AppRunner, settings: Settings
) -> None:
    async with run_app(settings) as client:
        upload = await client.post("/v1/files", files={"file": ("kept.txt", b"kept")})
        with pytest.raises(StorageInUse):
            async with run_app(settings):
                pass
        # The refused start swept nothing: the first app's file is intact.
        content = await client.get(f"/v1/files/{upload.json()['id']}/content")
        assert content.content == b"kept"
    async with run_app(settings) as client:  # released on shutdown
        assert len((await client.get("/v1/files")).json()["data"]) == 1
