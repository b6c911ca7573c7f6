"""The official openai client's vector store calls against a live `ragprep serve`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from benchmarks.live import LiveServer, live_server
from tests.conftest import DATA

DOCS = DATA / "docs"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, default_gguf: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("live") / "storage") as running:
        yield running


def test_openai_client_fills_polls_lists_and_searches_a_store(server: LiveServer) -> None:
    client = OpenAI(base_url=f"{server.url}/v1", api_key="unused")
    names = ["paris.txt", "gpl-3.txt", "fastapi-readme.md"]
    file_ids = []
    for name in names:
        with (DOCS / name).open("rb") as handle:
            file_ids.append(client.files.create(file=handle, purpose="assistants").id)
    store = client.vector_stores.create(name="docs", metadata={"owner": "tests"})
    assert store.status == "completed" and store.file_counts.total == 0

    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=file_ids
    )
    assert batch.status == "completed"
    assert batch.file_counts.completed == 3 and batch.file_counts.in_progress == 0

    # Pages of one: the client follows `after` cursors until has_more is false.
    listed = client.vector_stores.files.list(vector_store_id=store.id, limit=1, order="asc")
    assert [f.id for f in listed] == file_ids
    assert all(f.status == "completed" and f.last_error is None for f in listed)

    results = client.vector_stores.search(
        vector_store_id=store.id,
        query="Which river flows through Paris?",
        max_num_results=3,
        ranking_options={"ranker": "auto", "score_threshold": 0.0},
    )
    best = results.data[0]
    assert best.file_id == file_ids[0] and best.filename == "paris.txt"
    assert "Seine" in best.content[0].text and 0 < best.score <= 1
    # ragprep's provenance rides along as fields the client keeps.
    assert best.model_extra is not None
    assert best.model_extra["pages"] is None and best.model_extra["headings"] == []

    client.vector_stores.files.update(
        file_ids[1], vector_store_id=store.id, attributes={"kind": "licence"}
    )
    filtered = client.vector_stores.search(
        vector_store_id=store.id,
        query="Which river flows through Paris?",
        filters={"type": "eq", "key": "kind", "value": "licence"},
    )
    assert {hit.file_id for hit in filtered.data} == {file_ids[1]}

    with pytest.raises(openai.BadRequestError, match="rewrite_query"):
        client.vector_stores.search(vector_store_id=store.id, query="x", rewrite_query=True)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve("vs_missing")
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 3
    assert client.vector_stores.delete(store.id).deleted
