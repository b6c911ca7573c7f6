"""BM25 is each store's own: another store's documents never change a store's lexical ranking,
and chunks leaving a store (file removed, file deleted, file indexed again, store deleted) leave
its BM25 statistics too, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_chunks import DOCS, upload_doc
from tests.api.vector_store_helpers import search, store_of_docs, wait_indexed

QUERY = "Which river flows through Paris?"
BM25 = {"hybrid_search": {"embedding_weight": 0, "text_weight": 1}}
DENSE = {"hybrid_search": {"embedding_weight": 1, "text_weight": 0}}


async def bm25_hits(client: httpx.AsyncClient, store_id: str) -> list[tuple[str, int, float]]:
    """(file name, chunk index, score) of the store's BM25 hits, best first: alike for stores
    holding the same documents, whatever their file ids."""
    response = await search(client, store_id, query=QUERY, max_num_results=50, ranking_options=BM25)
    assert response.status_code == 200, response.text
    hits: list[dict[str, Any]] = response.json()["data"]
    assert hits, "the query's words are in the store"
    return [(hit["filename"], hit["chunk_index"], hit["score"]) for hit in hits]


async def test_another_stores_documents_leave_a_stores_bm25_unchanged(
    client: httpx.AsyncClient,
) -> None:
    store_id, _ = await store_of_docs(client, {"paris.txt": None, "gpl-3.txt": None})
    alone = await bm25_hits(client, store_id)
    # A second store full of the query's words: each paragraph about Paris and its river.
    paragraphs = (DOCS / "paris.txt").read_text().split("\n\n")
    other_docs: dict[str, bytes | None] = {
        f"paris-{n}.txt": text.encode() for n, text in enumerate(paragraphs)
    }
    other_id, _ = await store_of_docs(client, other_docs)
    assert len(await bm25_hits(client, other_id)) >= 3
    assert await bm25_hits(client, store_id) == alone
    assert (await client.delete(f"/v1/vector_stores/{other_id}")).status_code == 200
    assert await bm25_hits(client, store_id) == alone
    gone = await search(client, other_id, query=QUERY, ranking_options=BM25)
    assert gone.status_code == 404, gone.text


async def test_chunks_leaving_a_store_leave_its_bm25_statistics(client: httpx.AsyncClient) -> None:
    kept: dict[str, bytes | None] = {"paris.txt": None, "fastapi-readme.md": None}
    expected = await bm25_hits(client, (await store_of_docs(client, kept))[0])
    extra = (DOCS / "paris.txt").read_bytes().replace(b"Paris", b"Lutetia")
    store_id, ids = await store_of_docs(client, {**kept, "gpl-3.txt": None, "extra.txt": extra})
    # The licence and the extra text count in this store's statistics.
    mixed = [hit for hit in await bm25_hits(client, store_id) if hit[0] in kept]
    assert len(mixed) == len(expected) and mixed != expected
    removed = await client.delete(f"/v1/vector_stores/{store_id}/files/{ids['gpl-3.txt']}")
    assert removed.status_code == 200, removed.text
    deleted = await client.delete(f"/v1/files/{ids['extra.txt']}")
    assert deleted.status_code == 200, deleted.text
    assert await bm25_hits(client, store_id) == expected
    # Indexed again (new attributes): its old chunks leave the index as the new ones come in.
    again = await client.post(
        f"/v1/vector_stores/{store_id}/files",
        json={"file_id": ids["paris.txt"], "attributes": {"edition": 2}},
    )
    assert again.status_code == 200, again.text
    await wait_indexed(client, store_id)
    assert await bm25_hits(client, store_id) == expected


async def test_chunks_replacing_removed_ones_are_never_taken_for_them(
    client: httpx.AsyncClient,
) -> None:
    """The in-memory indexes tell chunks apart by row id: an id given again to a new chunk
    (SQLite reuses the highest rowid once its row is gone) would keep the old chunk's terms
    and vector. Ids are never reused (AUTOINCREMENT, migration 0007m)."""
    seine = b"The Seine flows through Paris under many bridges."
    zebra = b"Zebras graze on the savanna beside the acacia trees."
    store_id, ids = await store_of_docs(client, {"seine.txt": seine})
    assert await bm25_hits_for(client, store_id, "Seine") == ["seine.txt"]  # indexes loaded
    removed = await client.delete(f"/v1/vector_stores/{store_id}/files/{ids['seine.txt']}")
    assert removed.status_code == 200, removed.text
    zebra_id = await upload_doc(client, "zebra.txt", zebra)
    added = await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": zebra_id})
    assert added.status_code == 200, added.text
    await wait_indexed(client, store_id)
    assert await bm25_hits_for(client, store_id, "Seine") == []
    assert await bm25_hits_for(client, store_id, "zebras") == ["zebra.txt"]
    dense = await search(client, store_id, query="zebras on the savanna", ranking_options=DENSE)
    assert dense.status_code == 200, dense.text
    assert dense.json()["data"][0]["score"] > 0.6  # the zebra chunk's own vector, not the Seine's


async def bm25_hits_for(client: httpx.AsyncClient, store_id: str, query: str) -> list[str]:
    response = await search(client, store_id, query=query, ranking_options=BM25)
    assert response.status_code == 200, response.text
    return [hit["filename"] for hit in response.json()["data"]]
