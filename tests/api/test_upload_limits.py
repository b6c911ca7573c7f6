"""Upload limits that hold: every byte read counts, and a full disk is a 507 leaving nothing."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.api.uploads.receive import MULTIPART_OVERHEAD
from app.config import Settings
from tests.api.test_files import assert_error, upload
from tests.conftest import AppRunner

BOUNDARY = "b0undary"
HEADERS = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def framed(data: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def test_epilogue_after_the_closing_boundary_counts(
    run_app: AppRunner, settings: Settings
) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 1000})
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        yield framed(b"x" * 10)
        for _ in range(1000):  # 64 MB of epilogue if read whole
            pulled += 1
            yield b"e" * 65_536

    async with run_app(small) as client:
        response = await client.post("/v1/files", content=body(), headers=HEADERS)
        assert_error(response, 413, param="file")
        assert pulled <= MULTIPART_OVERHEAD // 65_536 + 2
        # A short epilogue (as some clients send a trailing CRLF) is fine.
        ok = await client.post("/v1/files", content=framed(b"x" * 10) + b"\r\n", headers=HEADERS)
        assert ok.status_code == 200, ok.text
        assert len((await client.get("/v1/files")).json()["data"]) == 1
    assert list(small.uploads_dir.iterdir()) == []


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs the test mounts (needs root); unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command to create a small filesystem")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


async def test_disk_full_during_upload_is_507_and_stores_nothing(
    run_app: AppRunner, settings: Settings, small_disk: Path
) -> None:
    # The database stays on the roomy disk: only blob writes run out of space.
    settings.storage_dir.mkdir(parents=True, exist_ok=True)
    on_disk = settings.model_copy(
        update={"storage_dir": small_disk / "storage", "database_url": settings.database_url}
    )
    async with run_app(on_disk) as client:
        response = await upload(client, "big.bin", b"z" * (3 * 1024 * 1024))
        assert_error(response, 507, param="file")
        error = response.json()["error"]
        assert error["type"] == "server_error" and error["code"] == "insufficient_storage"
        assert (await client.get("/v1/files")).json()["data"] == []
        assert list(on_disk.uploads_dir.iterdir()) == []
        assert list(on_disk.blobs_dir.iterdir()) == []
        # Space came back: the next upload fits.
        ok = await upload(client, "small.txt", b"fits" * 1000)
        assert ok.status_code == 200, ok.text
    assert shutil.disk_usage(small_disk).used < 1024 * 1024
