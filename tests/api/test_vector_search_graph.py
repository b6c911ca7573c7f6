"""Search through the HNSW graph (RAGPREP_VECTOR_INDEX_MIN_CHUNKS=1, so these small stores get
one): the hits exact search gives, filters honoured, and the graph in step with the database
after files and stores are deleted."""

from __future__ import annotations

import httpx

from app.config import Settings
from tests.api.test_files import assert_error
from tests.api.vector_store_helpers import search, store_of_docs, wait_indexed
from tests.conftest import AppRunner

DOCS: dict[str, bytes | None] = {"paris.txt": None, "gpl-3.txt": None, "fastapi-readme.md": None}
DENSE = {"hybrid_search": {"embedding_weight": 1, "text_weight": 0}}


def graph_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"vector_index_min_chunks": 1})


def ranked(response: httpx.Response) -> list[tuple[str, str, float]]:
    assert response.status_code == 200, response.text
    return [(h["file_id"], h["content"][0]["text"], h["score"]) for h in response.json()["data"]]


async def test_graph_hits_equal_exact_hits_and_honour_filters(
    settings: Settings, run_app: AppRunner
) -> None:
    licence = {"type": "eq", "key": "kind", "value": "licence"}
    queries = [
        {"query": "Which river flows through Paris?", "max_num_results": 5},
        # The nearest chunks are Paris's; the filter lets only the licence through.
        {"query": "Which river flows through Paris?", "max_num_results": 5, "filters": licence},
    ]
    async with run_app(graph_settings(settings)) as graph_app:
        store_id, ids = await store_of_docs(graph_app, DOCS)
        response = await graph_app.post(
            f"/v1/vector_stores/{store_id}/files/{ids['gpl-3.txt']}",
            json={"attributes": {"kind": "licence"}},
        )
        assert response.status_code == 200, response.text
        through_graph = [
            ranked(await search(graph_app, store_id, ranking_options=DENSE, **q)) for q in queries
        ]
    async with run_app(settings) as exact_app:  # the same database, searched exactly
        exact = [
            ranked(await search(exact_app, store_id, ranking_options=DENSE, **q)) for q in queries
        ]
    assert through_graph == exact
    unfiltered, filtered = through_graph
    assert unfiltered[0][0] == ids["paris.txt"]
    assert len(filtered) == 5 and {f for f, _, _ in filtered} == {ids["gpl-3.txt"]}


async def test_deleted_files_and_stores_leave_the_graph(
    settings: Settings, run_app: AppRunner
) -> None:
    """The graph follows the store's index_version, as on a replica whose database another
    one changed: the same refresh, whoever bumped the version."""
    query = {"query": "Which river flows through Paris?", "max_num_results": 3}
    async with run_app(graph_settings(settings)) as app:
        store_id, ids = await store_of_docs(app, DOCS)
        assert ranked(await search(app, store_id, **query))[0][0] == ids["paris.txt"]
        response = await app.delete(f"/v1/vector_stores/{store_id}/files/{ids['paris.txt']}")
        assert response.status_code == 200, response.text
        hits = ranked(await search(app, store_id, **query))
        assert hits and ids["paris.txt"] not in {f for f, _, _ in hits}
        # The file comes back (SQLite may even reuse its chunks' row ids): found again.
        added = await app.post(
            f"/v1/vector_stores/{store_id}/files", json={"file_id": ids["paris.txt"]}
        )
        assert added.status_code == 200, added.text
        await wait_indexed(app, store_id)
        assert ranked(await search(app, store_id, **query))[0][0] == ids["paris.txt"]
        # Deleting the file itself takes it out of the store and its graph.
        assert (await app.delete(f"/v1/files/{ids['paris.txt']}")).status_code == 200
        hits = ranked(await search(app, store_id, **query))
        assert hits and ids["paris.txt"] not in {f for f, _, _ in hits}
        assert (await app.delete(f"/v1/vector_stores/{store_id}")).status_code == 200
        assert_error(await search(app, store_id, **query), 404, param="vector_store_id")
        # A new store of the same text is searched from its own chunks only.
        again, new_ids = await store_of_docs(app, {"paris.txt": None})
        hits = ranked(await search(app, again, **query))
        assert hits and {f for f, _, _ in hits} == {new_ids["paris.txt"]}
