"""A catalogue of hostile requests: each gets its documented 4xx in the OpenAI envelope, and
none leaves anything half-stored (no stray row, blob, temp file or chunk set)."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx

from app.config import Settings
from tests.api.test_files import assert_error, post_raw, upload
from tests.conftest import AppRunner

HUGE = 10**30
JSON = {"content-type": "application/json"}
TEXT = b"Paris is the capital and most populous city of France.\n" * 20

# (method, path, JSON body or raw bytes, status, param); "{id}" is a stored text file.
CATALOGUE: list[tuple[str, str, Any, int, str | None]] = [
    # Malformed JSON and wrong JSON types.
    ("POST", "/v1/embeddings", b'{"input": ', 400, None),
    ("POST", "/v1/chunks", b'{"id": "x",}', 400, None),
    ("POST", "/v1/files/{id}/embeddings", b"\xff\xfe\x00", 400, None),
    ("POST", "/v1/embeddings", b'{"input": "x"} trailing', 400, None),
    ("POST", "/v1/embeddings", b"[1, 2]", 400, None),
    ("POST", "/v1/embeddings", {"input": 42}, 400, "input"),
    ("POST", "/v1/embeddings", {"input": {"text": "x"}}, 400, "input"),
    ("POST", "/v1/embeddings", {"input": "x", "dimensions": "64"}, 400, "dimensions"),
    ("POST", "/v1/embeddings", {"input": "x", "dimensions": True}, 400, "dimensions"),
    ("POST", "/v1/embeddings", {"input": "x", "encoding_format": "hex"}, 400, "encoding_format"),
    ("POST", "/v1/chunks", {"id": ["{id}"]}, 400, "id"),
    ("POST", "/v1/chunks", {"id": "{id}", "chunk_overlap": False}, 400, "chunk_overlap"),
    # Huge numbers: checked before they reach SQLite or the splitter.
    ("POST", "/v1/chunks", {"id": "{id}", "chunk_capacity": HUGE}, 400, "chunk_capacity"),
    ("POST", "/v1/chunks", {"id": "{id}", "chunk_overlap": HUGE}, 400, "chunk_overlap"),
    ("POST", "/v1/chunks", {"id": "{id}", "chunk_overlap": -HUGE}, 400, "chunk_overlap"),
    ("POST", "/v1/files/{id}/embeddings", {"chunk_capacity": HUGE}, 400, "chunk_capacity"),
    ("POST", "/v1/embeddings", {"input": "x", "dimensions": HUGE}, 400, "dimensions"),
    ("POST", "/v1/embeddings", {"input": [HUGE]}, 400, "input"),
    ("POST", "/v1/embeddings", {"input": [[1, -HUGE]]}, 400, "input"),
    ("POST", "/v1/embeddings", b'{"input": "x", "dimensions": 1e999}', 400, "dimensions"),
    ("GET", f"/v1/files?limit={HUGE}", None, 400, "limit"),
    ("GET", "/v1/files?limit=-1", None, 400, "limit"),
    # NUL bytes and unpaired surrogates in JSON strings.
    ("POST", "/v1/chunks", {"id": "file_\x00"}, 404, "id"),
    ("POST", "/v1/chunks", {"id": "{id}", "filename": "a\x00.txt"}, 400, "filename"),
    ("POST", "/v1/embeddings", {"input": "x", "model": "\x00"}, 404, "model"),
    ("POST", "/v1/embeddings", {"input": "\x00\x00"}, 400, "input"),
    ("POST", "/v1/embeddings", b'{"input": "x\\ud800"}', 400, "input"),
    ("POST", "/v1/embeddings", b'{"input": ["ok", "\\udfff"]}', 400, "input"),
    ("POST", "/v1/chunks", b'{"id": "\\ud800"}', 400, "id"),
    ("POST", "/v1/files/{id}/embeddings", b'{"model": "\\udbff"}', 400, "model"),
    # Empty and whitespace-only texts.
    ("POST", "/v1/embeddings", {"input": ""}, 400, "input"),
    ("POST", "/v1/embeddings", {"input": []}, 400, "input"),
    ("POST", "/v1/embeddings", {"input": ["ok", " \n\t "]}, 400, "input"),
    ("POST", "/v1/embeddings", {"input": [[]]}, 400, "input"),
    # Unknown ids and models; ids that try to leave storage/files.
    ("GET", "/v1/files/file_nope", None, 404, "file_id"),
    ("GET", "/v1/files/file_nope/content", None, 404, None),
    ("DELETE", "/v1/files/file_nope", None, 404, None),
    ("GET", "/v1/files/..%2F..%2Fragprep.db/content", None, 404, None),
    ("GET", "/v1/files/..%5Cragprep.db/content", None, 404, None),
    ("GET", "/v1/files/%00/content", None, 404, None),
    ("GET", "/v1/files?after=file_nope", None, 400, "after"),
    ("POST", "/v1/files/file_nope/embeddings", {}, 404, None),
    ("POST", "/v1/chunks", {"id": "../ragprep.db"}, 404, None),
    ("POST", "/v1/chunks", {"id": "{id}", "model": "gpt-4"}, 404, "model"),
    ("POST", "/v1/embeddings", {"input": "x", "model": "text-embedding-3-large"}, 404, "model"),
    ("GET", "/v1/models/no-such-model", None, 404, None),
    # Wrong methods.
    ("PUT", "/v1/embeddings", {"input": "x"}, 405, None),
    ("GET", "/v1/chunks", None, 405, None),
    ("PATCH", "/v1/files/{id}", {}, 405, None),
    ("DELETE", "/v1/files", None, 405, None),
    ("POST", "/v1/models", {}, 405, None),
    ("GET", "/v1/nowhere", None, 404, None),
]


async def send(client: httpx.AsyncClient, method: str, path: str, body: Any) -> httpx.Response:
    if isinstance(body, bytes):
        return await client.request(method, path, content=body, headers=JSON)
    return await client.request(method, path, json=body)


def with_id(value: Any, file_id: str) -> Any:
    if isinstance(value, str):
        return value.replace("{id}", file_id)
    if isinstance(value, dict):
        return {k: with_id(v, file_id) for k, v in value.items()}
    if isinstance(value, list):
        return [with_id(v, file_id) for v in value]
    return value


def stored_state(settings: Settings) -> tuple[list[str], list[str], int, int]:
    with sqlite3.connect(settings.storage_dir / "ragprep.db") as db:
        files = sorted(row[0] for row in db.execute("SELECT id FROM files"))
        chunk_sets = db.execute("SELECT count(*) FROM chunk_sets").fetchone()[0]
    blobs = sorted(p.name for p in settings.blobs_dir.iterdir())
    return files, blobs, chunk_sets, len(list(settings.uploads_dir.iterdir()))


async def test_hostile_requests_get_their_4xx_and_store_nothing(
    run_app: AppRunner, settings: Settings
) -> None:
    small = settings.model_copy(update={"max_json_bytes": 64 * 1024})
    async with run_app(small) as client:
        file_id = (await upload(client, "paris.txt", TEXT)).json()["id"]
        for method, path, body, status, param in CATALOGUE:
            response = await send(client, method, with_id(path, file_id), with_id(body, file_id))
            assert_error(response, status, param=param)
            if status == 405:
                assert response.headers["allow"]
        oversized = {"input": "x" * (64 * 1024)}
        assert_error(await send(client, "POST", "/v1/embeddings", oversized), 413)
    assert stored_state(small) == ([file_id], [file_id], 0, 0)


UNCHUNKABLE = [
    ("photo.gif", b"GIF89a" + bytes(range(256)) * 8, 415),
    ("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, 422),  # OCR'd: not an image
    ("notes.txt", b"text with a NUL\x00 inside", 415),
    ("latin1.txt", "café crème".encode("latin-1"), 415),
    ("blank.txt", b" \n\t\r\n   ", 422),
    ("invisible.txt", "\u200b\u200d\ufeff\x01".encode(), 422),
]
FILENAMES = [
    b'filename="../../../../etc/cron.d/evil"',
    b'filename="..\\\\..\\\\boot.ini"',
    b'filename="/absolute/path.txt"',
    b'filename="nul\x00byte.txt"',
    b"filename*=UTF-8''..%2F..%2Fescape.txt",
    b"filename*=UTF-8''%00%00",
    b"filename*=idna''%41.txt",  # a codec that is no charset
    b"filename*=rot13''cnevf.txt",
]
FILE_PART = b'--zz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
MANY_FIELDS = b"".join(
    b'--zz\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % n for n in range(40)
)
BAD_UPLOADS = [
    ("application/json", b'{"file": "x"}'),
    ("multipart/form-data", b"no boundary"),
    ("multipart/form-data; boundary=zz", b"--zz\r\ngarbage without headers end"),
    ("multipart/form-data; boundary=zz", b"--zz--\r\n"),
    ("multipart/form-data; boundary=" + "b" * 300, b"--" + b"b" * 300 + b"--\r\n"),
    # Cut short: no closing boundary, so the file may be incomplete. Never stored.
    ("multipart/form-data; boundary=zz", FILE_PART + b"hello, this is cut"),
    ("multipart/form-data; boundary=zz", FILE_PART + b"hello\r\n--zz\r\n"),
    ("multipart/form-data; boundary=zz", MANY_FIELDS + FILE_PART + b"hello\r\n--zz--\r\n"),
]


async def test_unchunkable_files_are_rejected_without_chunk_sets(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    for name, data, status in UNCHUNKABLE:
        file_id = (await upload(client, name, data)).json()["id"]
        assert_error(await client.post("/v1/chunks", json={"id": file_id}), status)
        assert_error(await client.post(f"/v1/files/{file_id}/embeddings", json={}), status)
    assert stored_state(settings)[2] == 0


async def test_hostile_filenames_never_leave_storage(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ids = []
    for disposition in FILENAMES:
        response = await post_raw(client, disposition, b"hello")
        assert response.status_code == 200, response.text
        name = response.json()["filename"]
        assert "/" not in name and "\\" not in name and "\x00" not in name, name
        assert name not in ("", ".", ".."), name
        ids.append(response.json()["id"])
    allowed = {settings.blobs_dir, settings.uploads_dir, settings.storage_dir / ".lock"}
    allowed |= {settings.blobs_dir / i for i in ids}
    for path in settings.storage_dir.rglob("*"):
        assert path in allowed or path.name.startswith("ragprep.db"), path
    assert [p.name for p in settings.storage_dir.parent.iterdir()] == ["storage"]


async def test_malformed_uploads_are_400_and_leave_no_temp_file(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    for content_type, body in BAD_UPLOADS:
        headers = {"content-type": content_type}
        assert_error(await client.post("/v1/files", content=body, headers=headers), 400)
    assert stored_state(settings) == ([], [], 0, 0)
