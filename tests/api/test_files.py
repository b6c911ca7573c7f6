"""Files API over the real HTTP stack, database (SQLite or PostgreSQL) and storage dir."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.db.dialect import is_sqlite
from tests.conftest import AppRunner

PARIS = b"Paris is the capital and most populous city of France.\n" * 20


def assert_error(response: httpx.Response, status: int, *, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    if param is not None:
        assert error["param"] == param


async def upload(client: httpx.AsyncClient, name: str, data: bytes, **form: str) -> httpx.Response:
    return await client.post("/v1/files", files={"file": (name, data)}, data=form)


async def post_raw(
    client: httpx.AsyncClient, disposition_tail: bytes, data: bytes
) -> httpx.Response:
    """A multipart body written byte for byte, as curl sends it (raw UTF-8, no escaping)."""
    body = (
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; '
        + disposition_tail
        + b"\r\n\r\n"
        + data
        + b"\r\n--b0undary--\r\n"
    )
    headers = {"content-type": "multipart/form-data; boundary=b0undary"}
    return await client.post("/v1/files", content=body, headers=headers)


async def test_upload_returns_file_object(client: httpx.AsyncClient) -> None:
    response = await upload(client, "paris.txt", PARIS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"].startswith("file_")
    assert body["object"] == "file"
    assert body["bytes"] == len(PARIS)
    assert body["filename"] == "paris.txt"
    assert body["purpose"] == "assistants"
    assert isinstance(body["created_at"], int)


async def test_content_roundtrip_and_headers(client: httpx.AsyncClient) -> None:
    file_id = (await upload(client, "notes.md", PARIS)).json()["id"]
    response = await client.get(f"/v1/files/{file_id}/content")
    assert response.status_code == 200
    assert response.content == PARIS
    assert response.headers["content-type"].startswith("text/markdown")
    assert 'filename="notes.md"' in response.headers["content-disposition"]


async def test_blob_is_stored_under_storage_with_id_name(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    file_id = (await upload(client, "../../escape.txt", PARIS)).json()["id"]
    blob = settings.blobs_dir / file_id
    assert hashlib.sha256(blob.read_bytes()).digest() == hashlib.sha256(PARIS).digest()
    assert not (settings.storage_dir.parent / "escape.txt").exists()
    assert list(settings.uploads_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        ("a\x00b.txt", "ab.txt"),
        ("..", "upload"),
        ("résumé 北京.txt", "résumé 北京.txt"),
        ("a\x1b[31mred.txt", "a[31mred.txt"),
        ("x" * 1000 + ".txt", "x" * 251 + ".txt"),
    ],
)
async def test_hostile_filenames_are_safe_metadata(
    client: httpx.AsyncClient, sent: str, stored: str
) -> None:
    response = await post_raw(client, f'filename="{sent}"'.encode(), b"hello")
    assert response.status_code == 200, response.text
    file_id = response.json()["id"]
    assert response.json()["filename"] == stored
    content = await client.get(f"/v1/files/{file_id}/content")
    assert content.content == b"hello"
    assert "\x00" not in content.headers["content-disposition"]


async def test_rfc5987_filename_is_decoded(client: httpx.AsyncClient) -> None:
    response = await post_raw(client, b"filename*=UTF-8''na%C3%AFve.txt", b"hello")
    assert response.json()["filename"] == "naïve.txt"


async def test_list_orders_and_pages(client: httpx.AsyncClient) -> None:
    ids = [(await upload(client, f"f{i}.txt", b"x")).json()["id"] for i in range(5)]
    await upload(client, "batch.jsonl", b"{}", purpose="batch")

    listed = (await client.get("/v1/files", params={"purpose": "assistants"})).json()
    assert listed["object"] == "list"
    assert [f["id"] for f in listed["data"]] == ids[::-1]
    assert listed["first_id"] == ids[-1] and listed["last_id"] == ids[0]
    assert listed["has_more"] is False

    first = (await client.get("/v1/files", params={"limit": 2, "order": "asc"})).json()
    assert [f["id"] for f in first["data"]] == ids[:2] and first["has_more"] is True
    after = {"limit": 2, "order": "asc", "after": first["last_id"]}
    second = (await client.get("/v1/files", params=after)).json()
    assert [f["id"] for f in second["data"]] == ids[2:4]


async def test_delete_removes_row_and_blob(client: httpx.AsyncClient, settings: Settings) -> None:
    file_id = (await upload(client, "paris.txt", PARIS)).json()["id"]
    response = await client.delete(f"/v1/files/{file_id}")
    assert response.json() == {"id": file_id, "object": "file", "deleted": True}
    assert not (settings.blobs_dir / file_id).exists()
    assert_error(await client.get(f"/v1/files/{file_id}"), 404, param="file_id")
    assert_error(await client.get(f"/v1/files/{file_id}/content"), 404)
    assert_error(await client.delete(f"/v1/files/{file_id}"), 404)


async def test_empty_file_is_rejected_and_not_stored(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert_error(await upload(client, "empty.txt", b""), 400, param="file")
    assert (await client.get("/v1/files")).json()["data"] == []
    assert list(settings.blobs_dir.iterdir()) == []
    assert list(settings.uploads_dir.iterdir()) == []


async def test_oversized_upload_is_413_and_not_stored(
    run_app: AppRunner, settings: Settings
) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 1000})
    async with run_app(small) as client:
        assert_error(await upload(client, "big.txt", b"x" * 1001), 413, param="file")
        assert (await upload(client, "ok.txt", b"x" * 1000)).status_code == 200
        assert len((await client.get("/v1/files")).json()["data"]) == 1
    assert len(list(small.blobs_dir.iterdir())) == 1
    assert list(small.uploads_dir.iterdir()) == []


async def test_oversized_stream_without_length_is_413(
    run_app: AppRunner, settings: Settings
) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 100_000})
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
    ).encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(20):
            yield b"y" * 10_000
        yield f"\r\n--{boundary}--\r\n".encode()

    async with run_app(small) as client:
        headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
        response = await client.post("/v1/files", content=body(), headers=headers)
        assert_error(response, 413)
    assert list(small.uploads_dir.iterdir()) == []
    assert list(small.blobs_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"data": {"purpose": "assistants"}}, "file"),
        ({"content": b"not multipart", "headers": {"content-type": "text/plain"}}, "file"),
        ({"files": {"file": ("a.txt", b"x")}, "data": {"purpose": "bogus"}}, "purpose"),
    ],
)
async def test_bad_uploads_are_400(
    client: httpx.AsyncClient, kwargs: dict[str, object], param: str
) -> None:
    if "data" in kwargs and "files" not in kwargs:
        # httpx sends url-encoded without files; force multipart with an unrelated part.
        kwargs = {"files": {"other": ("o.txt", b"x")}, "data": kwargs["data"]}
    assert_error(await client.post("/v1/files", **kwargs), 400, param=param)  # type: ignore[arg-type]


async def test_unknown_routes_and_bad_queries_use_envelope(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/nope"), 404)
    assert_error(await client.get("/v1/files", params={"limit": 0}), 400, param="limit")
    assert_error(await client.get("/v1/files", params={"order": "sideways"}), 400, param="order")
    assert_error(await client.get("/v1/files", params={"after": "file_missing"}), 400)
    assert_error(await client.get("/v1/files/file_missing"), 404, param="file_id")


async def test_files_survive_restart(run_app: AppRunner, settings: Settings) -> None:
    payloads = {f"doc{i}.txt": bytes([i]) * (1000 + i) for i in range(3)}
    async with run_app(settings) as client:
        ids = {
            name: (await upload(client, name, data)).json()["id"] for name, data in payloads.items()
        }
    async with run_app(settings) as client:
        listed = {f["id"] for f in (await client.get("/v1/files")).json()["data"]}
        assert listed == set(ids.values())
        for name, file_id in ids.items():
            content = await client.get(f"/v1/files/{file_id}/content")
            assert content.content == payloads[name]


async def test_restart_sweeps_interrupted_uploads_and_orphans(
    run_app: AppRunner, settings: Settings
) -> None:
    async with run_app(settings) as client:
        kept = (await upload(client, "kept.txt", b"kept")).json()["id"]
    # Untouched for longer than the grace period replicas sharing storage get (PostgreSQL).
    long_ago = time.time() - settings.orphan_grace_seconds - 60
    debris(settings, "dead.part", "file_orphan", mtime=long_ago)
    async with run_app(settings) as client:
        assert [f["id"] for f in (await client.get("/v1/files")).json()["data"]] == [kept]
    assert list(settings.uploads_dir.iterdir()) == []
    assert [p.name for p in settings.blobs_dir.iterdir()] == [kept]


def debris(settings: Settings, upload_name: str, blob_name: str, *, mtime: float) -> list[Path]:
    written = [settings.uploads_dir / upload_name, settings.blobs_dir / blob_name]
    for path in written:
        path.write_bytes(b"half an upload, or renamed but never committed")
        os.utime(path, (mtime, mtime))
    return written


async def test_start_up_keeps_fresh_uploads_unless_it_owns_the_storage(
    run_app: AppRunner, settings: Settings
) -> None:
    """With SQLite one process owns the storage dir and sweeps all leftovers; with PostgreSQL
    a recent upload or blob may be another replica's work in flight, so it is left alone."""
    async with run_app(settings) as client:
        await upload(client, "kept.txt", b"kept")
    fresh = debris(settings, "inflight.part", "file_committing", mtime=time.time())
    async with run_app(settings) as client:
        assert len((await client.get("/v1/files")).json()["data"]) == 1
    kept = [path.exists() for path in fresh]
    assert kept == ([False, False] if is_sqlite(settings.database_url) else [True, True])


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
