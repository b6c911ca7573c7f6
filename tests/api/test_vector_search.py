"""POST /v1/vector_stores/{id}/search: dense, BM25 and hybrid ranking, filters, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_files import assert_error
from tests.api.vector_store_helpers import search, store_of_docs, wait_indexed

DOCS_IN_STORE: dict[str, bytes | None] = {
    "paris.txt": None,
    "gpl-3.txt": None,
    "fastapi-readme.md": None,
}
DENSE = {"hybrid_search": {"embedding_weight": 1, "text_weight": 0}}
BM25 = {"hybrid_search": {"embedding_weight": 0, "text_weight": 1}}


@pytest.fixture
async def store(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    store_id, ids = await store_of_docs(client, DOCS_IN_STORE)
    for name, kind in (
        ("paris.txt", "city"),
        ("gpl-3.txt", "licence"),
        ("fastapi-readme.md", "software"),
    ):
        attributes = {"kind": kind, "year": len(name), "public": name != "paris.txt"}
        response = await client.post(
            f"/v1/vector_stores/{store_id}/files/{ids[name]}", json={"attributes": attributes}
        )
        assert response.status_code == 200, response.text
    return store_id, ids


@pytest.mark.parametrize("ranking", [None, DENSE, BM25, {"ranker": "none"}])
async def test_each_ranking_finds_the_passage_asked_for(
    client: httpx.AsyncClient, store: tuple[str, dict[str, str]], ranking: dict[str, Any] | None
) -> None:
    store_id, ids = store
    body = {"query": "Which river flows through Paris?", "max_num_results": 3}
    if ranking is not None:
        body["ranking_options"] = ranking
    response = await search(client, store_id, **body)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["object"] == "vector_store.search_results.page"
    assert page["search_query"] == [body["query"]] and page["has_more"] is False
    best = page["data"][0]
    assert best["file_id"] == ids["paris.txt"] and best["filename"] == "paris.txt"
    assert "Seine" in best["content"][0]["text"] and best["content"][0]["type"] == "text"
    assert best["attributes"]["kind"] == "city"
    assert 0 < best["score"] <= 1
    scores = [hit["score"] for hit in page["data"]]
    assert scores == sorted(scores, reverse=True) and len(scores) <= 3


async def test_hits_carry_provenance_into_the_extracted_text(
    client: httpx.AsyncClient, store: tuple[str, dict[str, str]]
) -> None:
    store_id, ids = store
    page = (await search(client, store_id, query="dependency injection", max_num_results=5)).json()
    hit = next(h for h in page["data"] if h["file_id"] == ids["fastapi-readme.md"])
    text = (await client.get(f"/v1/files/{hit['file_id']}/text")).text
    assert text[hit["start"] : hit["end"]] == hit["content"][0]["text"]
    assert hit["pages"] is None and isinstance(hit["headings"], list) and hit["headings"]


async def test_filters_select_files_by_attribute(
    client: httpx.AsyncClient, store: tuple[str, dict[str, str]]
) -> None:
    store_id, ids = store
    cases = [
        ({"type": "eq", "key": "kind", "value": "licence"}, {"gpl-3.txt"}),
        ({"type": "ne", "key": "kind", "value": "licence"}, {"paris.txt", "fastapi-readme.md"}),
        (
            {"type": "in", "key": "kind", "value": ["city", "software"]},
            {"paris.txt", "fastapi-readme.md"},
        ),
        ({"type": "nin", "key": "kind", "value": ["city"]}, {"gpl-3.txt", "fastapi-readme.md"}),
        ({"type": "gt", "key": "year", "value": 9}, {"fastapi-readme.md"}),
        ({"type": "lte", "key": "year", "value": 9}, {"paris.txt", "gpl-3.txt"}),
        ({"type": "eq", "key": "public", "value": False}, {"paris.txt"}),
        ({"type": "eq", "key": "missing", "value": 1}, set()),
        (
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "kind", "value": "city"},
                    {
                        "type": "and",
                        "filters": [
                            {"type": "eq", "key": "public", "value": True},
                            {"type": "gte", "key": "year", "value": 17},
                        ],
                    },
                ],
            },
            {"paris.txt", "fastapi-readme.md"},
        ),
    ]
    names = {file_id: name for name, file_id in ids.items()}
    for rule, expected in cases:
        response = await search(
            client,
            store_id,
            query="the city and the software licence",
            max_num_results=50,
            filters=rule,
        )
        assert response.status_code == 200, (rule, response.text)
        found = {names[hit["file_id"]] for hit in response.json()["data"]}
        assert found == expected, rule


async def test_bad_searches_are_clear_400s(
    client: httpx.AsyncClient, store: tuple[str, dict[str, str]]
) -> None:
    store_id, _ = store
    bad: list[tuple[dict[str, Any], str]] = [
        ({"query": "x", "rewrite_query": True}, "rewrite_query"),
        ({"query": ""}, "query"),
        ({"query": []}, "query"),
        ({"query": "x", "max_num_results": 51}, "max_num_results"),
        ({"query": "x", "max_num_results": 0}, "max_num_results"),
        ({"query": "x", "filters": {"type": "like", "key": "k", "value": "v"}}, "filters"),
        ({"query": "x", "filters": {"type": "in", "key": "k", "value": "v"}}, "filters"),
        ({"query": "x", "filters": {"type": "gt", "key": "k", "value": [1]}}, "filters"),
        ({"query": "x", "filters": {"type": "and", "filters": []}}, "filters"),
        ({"query": "x", "ranking_options": {"ranker": "best"}}, "ranking_options"),
        ({"query": "x", "ranking_options": {"score_threshold": 2}}, "ranking_options"),
        (
            {
                "query": "x",
                "ranking_options": {"hybrid_search": {"embedding_weight": 0, "text_weight": 0}},
            },
            "ranking_options",
        ),
        ({"query": "word " * 600}, "query"),
    ]
    for body, param in bad:
        assert_error(await search(client, store_id, **body), 400, param=param)
    assert_error(await search(client, "vs_missing", query="x"), 404, param="vector_store_id")


async def test_threshold_and_several_queries(
    client: httpx.AsyncClient, store: tuple[str, dict[str, str]]
) -> None:
    store_id, ids = store
    queries = ["capital of France", "warranty disclaimer"]
    page = (await search(client, store_id, query=queries, max_num_results=10)).json()
    assert page["search_query"] == queries
    top_two = {hit["file_id"] for hit in page["data"][:2]}
    assert top_two == {ids["paris.txt"], ids["gpl-3.txt"]}
    strict = await search(client, store_id, query=queries, ranking_options={"score_threshold": 0.9})
    assert all(hit["score"] >= 0.9 for hit in strict.json()["data"])
    assert len(strict.json()["data"]) < len(page["data"])


async def test_a_search_after_indexing_sees_new_and_removed_files(
    client: httpx.AsyncClient, store: tuple[str, dict[str, str]]
) -> None:
    store_id, _ = store
    query = {"query": "boiling point of liquid nitrogen", "max_num_results": 1}
    upload = await client.post(
        "/v1/files",
        files={"file": ("nitrogen.txt", b"Liquid nitrogen boils at 77 kelvin (-196 C).")},
    )
    new_id = upload.json()["id"]
    await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": new_id})
    await wait_indexed(client, store_id)
    hits = (await search(client, store_id, **query)).json()["data"]
    assert hits[0]["file_id"] == new_id
    await client.delete(f"/v1/vector_stores/{store_id}/files/{new_id}")
    hits = (await search(client, store_id, **query)).json()["data"]
    assert hits[0]["file_id"] != new_id
