"""/v1/vector_stores: stores, their files and batches, indexed in the background."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import anyio
import httpx
import pypdfium2 as pdfium
import pytest

from app.config import Settings
from tests.api.test_chunks import DOCS, upload_doc
from tests.api.test_files import assert_error
from tests.api.vector_store_helpers import create_store, store_of_docs, wait_indexed
from tests.extract.bombs import zip_bomb
from tests.pg import count_rows


async def test_a_store_is_created_listed_updated_and_deleted(client: httpx.AsyncClient) -> None:
    store = await create_store(
        client,
        name="manuals",
        metadata={"team": "docs"},
        expires_after={"anchor": "last_active_at", "days": 7},
    )
    assert store["object"] == "vector_store" and store["id"].startswith("vs_")
    assert store["name"] == "manuals" and store["metadata"] == {"team": "docs"}
    assert store["status"] == "completed" and store["usage_bytes"] == 0
    assert store["file_counts"] == {
        "in_progress": 0,
        "completed": 0,
        "failed": 0,
        "cancelled": 0,
        "total": 0,
    }
    assert store["expires_at"] == store["last_active_at"] + 7 * 86_400
    others = [(await create_store(client, name=f"s{i}"))["id"] for i in range(3)]

    first = (await client.get("/v1/vector_stores", params={"limit": 2})).json()
    assert [s["id"] for s in first["data"]] == others[:0:-1] and first["has_more"]
    rest = await client.get("/v1/vector_stores", params={"limit": 2, "after": first["last_id"]})
    assert [s["id"] for s in rest.json()["data"]] == [others[0], store["id"]]
    assert not rest.json()["has_more"]
    back = await client.get(
        "/v1/vector_stores", params={"limit": 2, "before": others[0], "order": "desc"}
    )
    assert [s["id"] for s in back.json()["data"]] == others[:0:-1]

    updated = await client.post(
        f"/v1/vector_stores/{store['id']}", json={"name": "guides", "expires_after": None}
    )
    assert updated.json()["name"] == "guides" and updated.json()["expires_at"] is None
    assert updated.json()["metadata"] == {"team": "docs"}
    deleted = await client.delete(f"/v1/vector_stores/{store['id']}")
    assert deleted.json() == {"id": store["id"], "object": "vector_store.deleted", "deleted": True}
    assert_error(await client.get(f"/v1/vector_stores/{store['id']}"), 404, param="vector_store_id")


async def test_bad_requests_store_nothing(client: httpx.AsyncClient, settings: Settings) -> None:
    file_id = await upload_doc(client, "paris.txt")
    cases = [
        ({"file_ids": [file_id, "file_missing"]}, 404, "file_id"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, 400, "metadata"),
        ({"expires_after": {"anchor": "created_at", "days": 1}}, 400, "expires_after"),
        ({"nmae": "typo"}, 400, "nmae"),
        (
            {
                "file_ids": [file_id],
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 0},
                },
            },
            400,
            "chunking_strategy",
        ),
    ]
    for body, status, param in cases:
        assert_error(await client.post("/v1/vector_stores", json=body), status, param=param)
    assert count_rows(settings.database_url, "vector_stores") == 0
    listed = await client.get("/v1/vector_stores", params={"after": "vs_x"})
    assert_error(listed, 400, param="after")
    missing = await client.get("/v1/vector_stores/vs_nope/files")
    assert_error(missing, 404, param="vector_store_id")


async def test_files_are_indexed_with_their_chunks_and_attributes(
    client: httpx.AsyncClient,
) -> None:
    store_id, ids = await store_of_docs(client, {"paris.txt": None})
    gpl = await upload_doc(client, "gpl-3.txt")
    static = {
        "type": "static",
        "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50},
    }
    added = await client.post(
        f"/v1/vector_stores/{store_id}/files",
        json={
            "file_id": gpl,
            "attributes": {"licence": "GPL", "version": 3, "free": True},
            "chunking_strategy": static,
        },
    )
    assert added.status_code == 200, added.text
    assert added.json()["status"] == "in_progress" and added.json()["object"] == "vector_store.file"
    store = await wait_indexed(client, store_id)
    assert store["file_counts"]["completed"] == 2 and store["usage_bytes"] > 0

    listed = (await client.get(f"/v1/vector_stores/{store_id}/files")).json()
    assert [f["id"] for f in listed["data"]] == [gpl, ids["paris.txt"]]
    one = (await client.get(f"/v1/vector_stores/{store_id}/files/{gpl}")).json()
    assert one["attributes"] == {"licence": "GPL", "version": 3, "free": True}
    assert one["chunking_strategy"] == static
    paris = (await client.get(f"/v1/vector_stores/{store_id}/files/{ids['paris.txt']}")).json()
    assert paris["chunking_strategy"] == {  # auto: the model's capacity, a quarter overlapped
        "type": "static",
        "static": {"max_chunk_size_tokens": 510, "chunk_overlap_tokens": 127},
    }
    content = (await client.get(f"/v1/vector_stores/{store_id}/files/{gpl}/content")).json()
    chunks = (
        await client.post("/v1/chunks", json={"id": gpl, "chunking_strategy": static})
    ).json()["chunks"]
    assert content["object"] == "vector_store.file_content.page"
    assert [part["text"] for part in content["data"]] == chunks

    changed = await client.post(
        f"/v1/vector_stores/{store_id}/files/{gpl}", json={"attributes": {"licence": "AGPL"}}
    )
    assert changed.json()["attributes"] == {"licence": "AGPL"}
    assert_error(
        await client.post(f"/v1/vector_stores/{store_id}/files/{gpl}", json={"attributes": 1}),
        400,
        param="attributes",
    )


def encrypted_pdf(tmp_path: Path) -> bytes:
    """A one-page PDF (PDFium's own) locked with a user password by qpdf."""
    if shutil.which("qpdf") is None:
        pytest.skip("needs qpdf (listed in .ci/apt-packages.txt)")
    document = pdfium.PdfDocument.new()
    document.new_page(595, 842)
    document.save(tmp_path / "open.pdf")
    document.close()
    locked = tmp_path / "locked.pdf"
    command = ["qpdf", "--encrypt", "user", "owner", "256", "--", "open.pdf", locked.name]
    subprocess.run(command, cwd=tmp_path, check=True)
    return locked.read_bytes()


async def test_a_file_failing_extraction_fails_with_its_own_error(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    blank = await upload_doc(client, "blank.txt", b" \n\t \n")
    bomb = await upload_doc(client, "bomb.docx", zip_bomb(300))
    locked = await upload_doc(client, "secret.pdf", encrypted_pdf(tmp_path))
    good = await upload_doc(client, "paris.txt")
    store = await create_store(client, file_ids=[blank, bomb, locked, good])
    done = await wait_indexed(client, store["id"])
    assert done["file_counts"] == {
        "in_progress": 0,
        "completed": 1,
        "failed": 3,
        "cancelled": 0,
        "total": 4,
    }
    failed = await client.get(
        f"/v1/vector_stores/{store['id']}/files", params={"filter": "failed", "order": "asc"}
    )
    errors = {f["id"]: f["last_error"] for f in failed.json()["data"]}
    assert errors[blank]["code"] == "empty_document" and "blank.txt" in errors[blank]["message"]
    assert errors[bomb]["code"] == "document_too_large"
    assert (
        errors[locked]["code"] == "encrypted_document" and "password" in errors[locked]["message"]
    )
    # Nothing of a failed file is indexed.
    empty = await client.get(f"/v1/vector_stores/{store['id']}/files/{blank}/content")
    assert empty.json()["data"] == []
    assert count_rows(settings.database_url, "vector_store_chunks") == len(
        (await client.get(f"/v1/vector_stores/{store['id']}/files/{good}/content")).json()["data"]
    )


async def test_deleting_files_and_stores_removes_their_chunks(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    store_id, ids = await store_of_docs(client, {"paris.txt": None, "gpl-3.txt": None})
    other_id = (await create_store(client, file_ids=[ids["gpl-3.txt"]]))["id"]
    await wait_indexed(client, other_id)

    def chunks() -> int:
        return count_rows(settings.database_url, "vector_store_chunks")

    per_store = chunks()
    removed = await client.delete(f"/v1/vector_stores/{store_id}/files/{ids['paris.txt']}")
    assert removed.json()["object"] == "vector_store.file.deleted"
    assert (await client.get(f"/v1/files/{ids['paris.txt']}")).status_code == 200
    after_remove = chunks()
    assert after_remove < per_store
    # Deleting the file itself takes it out of both stores.
    assert (await client.delete(f"/v1/files/{ids['gpl-3.txt']}")).status_code == 200
    assert chunks() == 0
    for store in (store_id, other_id):
        assert (await client.get(f"/v1/vector_stores/{store}")).json()["file_counts"]["total"] == 0
    again = await upload_doc(client, "paris.txt")
    await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": again})
    await wait_indexed(client, store_id)
    assert chunks() > 0
    await client.delete(f"/v1/vector_stores/{store_id}")
    assert chunks() == 0 and count_rows(settings.database_url, "vector_store_files") == 0


async def test_batches_count_their_files_and_cancel(client: httpx.AsyncClient) -> None:
    store = await create_store(client, name="batches")
    ids = [await upload_doc(client, name) for name in ("paris.txt", "gpl-3.txt")]
    created = await client.post(
        f"/v1/vector_stores/{store['id']}/file_batches",
        json={"files": [{"file_id": ids[0], "attributes": {"n": 0}}, {"file_id": ids[1]}]},
    )
    assert created.status_code == 200, created.text
    batch = created.json()
    assert batch["object"] == "vector_store.files_batch" and batch["file_counts"]["total"] == 2
    await wait_indexed(client, store["id"])
    polled = await client.get(f"/v1/vector_stores/{store['id']}/file_batches/{batch['id']}")
    assert polled.json()["status"] == "completed"
    assert polled.json()["file_counts"]["completed"] == 2
    listed = await client.get(f"/v1/vector_stores/{store['id']}/file_batches/{batch['id']}/files")
    assert {f["id"]: f["attributes"] for f in listed.json()["data"]} == {
        ids[0]: {"n": 0},
        ids[1]: None,
    }
    bodies: list[dict[str, Any]] = [
        {},
        {"file_ids": ids, "files": [{"file_id": ids[0]}]},
        {"file_ids": []},
    ]
    for body in bodies:
        response = await client.post(f"/v1/vector_stores/{store['id']}/file_batches", json=body)
        assert_error(response, 400)
    missing = f"/v1/vector_stores/{store['id']}/file_batches/vsfb_nope"
    assert_error(await client.get(missing), 404, param="batch_id")


async def test_cancelling_a_batch_leaves_nothing_indexed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    store = await create_store(client)
    gpl = (DOCS / "gpl-3.txt").read_text()
    # Distinct texts (no embedding cache hits), each several seconds of embedding.
    ids = [
        await upload_doc(client, f"gpl-{n}.txt", unique_lines(gpl, n).encode()) for n in range(6)
    ]
    batch = (
        await client.post(f"/v1/vector_stores/{store['id']}/file_batches", json={"file_ids": ids})
    ).json()
    cancelled = await client.post(
        f"/v1/vector_stores/{store['id']}/file_batches/{batch['id']}/cancel"
    )
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["file_counts"]["cancelled"] == 6
    await wait_indexed(client, store["id"])
    # A worker busy with one of them when it was cancelled stores nothing of it either.
    await anyio.sleep(0.5)
    assert count_rows(settings.database_url, "vector_store_chunks") == 0
    files = await client.get(f"/v1/vector_stores/{store['id']}/files", params={"limit": 100})
    assert {f["status"] for f in files.json()["data"]} == {"cancelled"}


def unique_lines(text: str, n: int) -> str:
    return "\n".join(f"{n}.{i} {line}" for i, line in enumerate(text.splitlines()))
