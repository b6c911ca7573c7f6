"""A shortened soak (benchmarks/soak.py) in the suite: 16 clients against a live server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.live import live_server
from benchmarks.soak import ALLOWED, soak


@pytest.mark.slow
def test_mixed_load_has_no_5xx_and_loses_no_data(tmp_path: Path) -> None:
    with live_server(tmp_path / "storage") as server:
        report = asyncio.run(soak(server.url, clients=16, seconds=10.0, seed=11))
    print("\n".join(report.lines()))
    assert report.server_errors == 0
    assert report.problems == []
    # Every kind of work really happened, so the verdict covers the whole mix.
    done = {kind for (kind, status), n in report.statuses.items() if status == 200 and n}
    assert done == set(ALLOWED)
    assert report.survivors > 0
