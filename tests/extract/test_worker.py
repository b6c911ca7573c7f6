"""The per-document time limit kills the worker; the next document gets a fresh one."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.errors import UnprocessableDocument
from app.extract import ExtractLimits, Extractor, extract_with
from tests.extract.conftest import Corpus


@pytest.fixture
def pool() -> Iterator[Extractor]:
    extractor = Extractor(workers=2)
    yield extractor
    extractor.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped is a zombie: dead for our purposes.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


@pytest.mark.parametrize("document", ["pdf", "html", "docx"])
def test_time_limit_cuts_off_every_format(corpus: Corpus, document: str) -> None:
    data: bytes = getattr(corpus, document)
    if document == "html":  # the Rust converter needs a few MB to take more than a millisecond
        data = data * 100
    extractor = Extractor()
    try:
        extract_with(
            extractor, b"<html><body><p>warm up</p>", filename="w.html", limits=ExtractLimits()
        )
        (first,) = extractor.pids
        started = time.monotonic()
        with pytest.raises(UnprocessableDocument) as caught:
            extract_with(
                extractor, data, filename=f"slow.{document}", limits=ExtractLimits(seconds=0.001)
            )
        assert time.monotonic() - started < 2
        assert caught.value.code == "extraction_timeout"
        assert "0.001 s" in caught.value.message
        assert not _alive(first)
        again = extract_with(extractor, data, filename=f"ok.{document}", limits=ExtractLimits())
        assert again.text.strip()
        assert extractor.pids and extractor.pids != [first]
    finally:
        extractor.close()


def test_concurrent_callers_share_the_pool(corpus: Corpus, pool: Extractor) -> None:
    limits = ExtractLimits()
    jobs = [(corpus.pdf, "a.pdf"), (corpus.html, "b.html"), (corpus.docx, "c.docx")] * 3
    with ThreadPoolExecutor(max_workers=6) as threads:
        results = list(
            threads.map(
                lambda job: extract_with(pool, job[0], filename=job[1], limits=limits), jobs
            )
        )
    first = {name: results[i].text for i, (_, name) in enumerate(jobs[:3])}
    for (_, name), result in zip(jobs, results, strict=True):
        assert result.text == first[name]
    assert len(pool.pids) == 2


def test_close_stops_the_workers(corpus: Corpus) -> None:
    extractor = Extractor()
    extract_with(extractor, corpus.html, filename="a.html", limits=ExtractLimits())
    (pid,) = extractor.pids
    extractor.close()
    assert not _alive(pid)
    assert extractor.pids == []


def test_module_level_extract_uses_one_shared_pool(corpus: Corpus) -> None:
    from app.extract import default_extractor, extract

    document = extract(corpus.html, filename="a.html", limits=ExtractLimits())
    assert document.headings
    assert default_extractor() is default_extractor()
    assert len(default_extractor().pids) == 1
