"""`ragprep ingest DIR --vector-store NAME`: a folder fills a store, in-process, then searchable."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import pytest

from app.cli import main
from app.config import Settings
from tests.conftest import running
from tests.ingest.test_ingest import make_folder, storage


async def test_a_folder_fills_a_named_store_once(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    docs = make_folder(tmp_path)
    caplog.set_level(logging.INFO, logger="ragprep.ingest")
    # main() runs its own event loop: off this test's loop, as a user's shell would run it.
    args = ["ingest", str(docs), "--vector-store", "notes", *storage(settings)]
    assert await anyio.to_thread.run_sync(main, args) == 0
    assert "3 indexed, 2 skipped, 0 failed" in caplog.text  # logo.png and blank.txt skipped
    # A second run adds the same files to the same store: no new store, nothing failed.
    assert await anyio.to_thread.run_sync(main, args) == 0
    async with running(settings) as client:
        stores = (await client.get("/v1/vector_stores")).json()["data"]
        assert [s["name"] for s in stores] == ["notes"]
        assert stores[0]["file_counts"]["completed"] == 3
        hits = await client.post(
            f"/v1/vector_stores/{stores[0]['id']}/search",
            json={"query": "Which river flows through Paris?", "max_num_results": 1},
        )
        assert hits.json()["data"][0]["filename"] == "paris.txt"


def test_output_and_store_are_one_or_the_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = str(make_folder(tmp_path))
    for args in ([docs], [docs, "-o", "x.jsonl", "--vector-store", "s"]):
        with pytest.raises(SystemExit) as exited:
            main(["ingest", *args])
        assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["ingest", docs, "--vector-store", "s", "--engine", "ray"]) == 2
