"""`ragprep ingest` end to end: real documents, the real model, SQLite and storage in tmp_path."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from logging.handlers import BufferingHandler
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn

from app.cli import main
from app.config import Settings
from app.main import create_app
from benchmarks.live import live_server as start_live_server
from tests.conftest import DATA, MODELS, cosine, running
from tests.extract import documents

DOCS = DATA / "docs"
RAGPREP = Path(sys.executable).with_name("ragprep")
GIF = b"GIF89a\x01\x00\x01\x00" + bytes(range(256))  # an image format OCR does not take
FIELDS: dict[str, type | tuple[type, ...]] = {"file_id": str, "filename": str, "path": str}
FIELDS |= {"chunk_index": int, "start": int}
FIELDS |= {"end": int, "tokens": int, "text": str, "model": str, "embedding": list}
FIELDS |= {"pages": (list, type(None)), "headings": list, "ocr_pages": list}
SUMMARY = re.compile(r"(?P<chunks>\d+) chunks, \d+ tokens, (?P<cached>\d+) cached chunks")


def make_folder(root: Path) -> Path:
    """Nested text and Markdown, plus what must be skipped (binary, blank) or ignored (hidden)."""
    docs = root / "docs"
    for folder in ("licenses/gnu", "notes", ".cache"):
        (docs / folder).mkdir(parents=True)
    shutil.copy(DOCS / "gpl-3.txt", docs / "licenses" / "gnu" / "gpl-3.txt")
    shutil.copy(DOCS / "fastapi-readme.md", docs / "fastapi-readme.md")
    shutil.copy(DOCS / "paris.txt", docs / "notes" / "paris.txt")
    (docs / "logo.gif").write_bytes(GIF)
    (docs / "notes" / "blank.txt").write_text("  \n\t\n   \n")
    (docs / ".hidden.txt").write_text("hidden notes")
    (docs / ".cache" / "seen.md").write_text("# hidden folder")
    return docs


def storage(settings: Settings) -> list[str]:
    return ["--storage-dir", str(settings.storage_dir), "--models-dir", str(settings.models_dir)]


@dataclass
class Run:
    code: int
    out: Path
    logs: list[str]

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.read_text().splitlines()]

    def summary(self) -> tuple[int, int]:
        """(chunks, cached chunks) as the summary line reports them."""
        match = next(m for line in self.logs if (m := SUMMARY.search(line)))
        return int(match["chunks"]), int(match["cached"])


def ingest(out: Path, *args: str | Path) -> Run:
    """The CLI in-process, with INFO logs collected (caplog is not available to module fixtures)."""
    root, handler, level = logging.getLogger(), BufferingHandler(1 << 20), logging.root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        code = main(["ingest", *map(str, args), "-o", str(out)])
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return Run(code, out, [record.getMessage() for record in handler.buffer])


def stored_files(settings: Settings) -> int:
    async def count() -> int:
        async with running(settings) as client:
            return len((await client.get("/v1/files")).json()["data"])

    return asyncio.run(count())


@dataclass
class Cold:
    docs: Path
    settings: Settings
    run: Run


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory, default_gguf: Path) -> Cold:
    """One cold run on fresh storage, shared: embedding the corpus is the slow part."""
    root = tmp_path_factory.mktemp("ingest")
    settings = Settings(storage_dir=root / "storage", models_dir=MODELS)
    docs = make_folder(root)
    return Cold(docs, settings, ingest(root / "cold.jsonl", docs, *storage(settings)))


def test_cold_run_writes_one_typed_line_per_chunk(cold: Cold) -> None:
    assert cold.run.code == 0
    lines = cold.run.lines
    by_path: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        assert set(line) == set(FIELDS)
        assert all(isinstance(line[key], kind) for key, kind in FIELDS.items())
        assert line["model"] == "all-MiniLM-L6-v2"
        vector = np.asarray(line["embedding"])
        assert vector.shape == (384,) and abs(np.linalg.norm(vector) - 1) < 1e-5
        by_path.setdefault(line["path"], []).append(line)
    # Walk order: a folder's files (sorted) before its sub-folders (sorted); hidden ones never.
    names = [Path(p).relative_to(cold.docs).as_posix() for p in by_path]
    assert names == ["fastapi-readme.md", "licenses/gnu/gpl-3.txt", "notes/paris.txt"]
    for path, chunks in by_path.items():
        assert [c["chunk_index"] for c in chunks] == list(range(len(chunks)))
        text = Path(path).read_text()
        assert all(text[c["start"] : c["end"]].strip() == c["text"].strip() for c in chunks)
        assert {c["filename"] for c in chunks} == {Path(path).name}
    assert cold.run.summary()[0] == len(lines)
    logs = "\n".join(cold.run.logs)
    assert "logo.gif: not a supported document format" in logs and "blank.txt: no text" in logs
    assert "hidden" not in logs and "seen.md" not in logs


async def test_vectors_match_the_embeddings_api(cold: Cold) -> None:
    lines = cold.run.lines
    # Cache off: the API must compute the vectors afresh, not return the ingest run's.
    async with running(cold.settings.model_copy(update={"embedding_cache": False})) as client:
        for file_id in {line["file_id"] for line in lines}:
            chunked = (await client.post("/v1/chunks", json={"id": file_id})).json()
            assert chunked["chunks"] == [x["text"] for x in lines if x["file_id"] == file_id]
        texts = [line["text"] for line in lines]
        response = await client.post("/v1/embeddings", json={"input": texts})
    assert response.status_code == 200, response.text
    for line, item in zip(lines, response.json()["data"], strict=True):
        assert cosine(line["embedding"], item["embedding"]) > 0.99999


def test_second_run_reuses_files_chunks_and_vectors(cold: Cold, tmp_path: Path) -> None:
    files_before = stored_files(cold.settings)
    warm = ingest(tmp_path / "warm.jsonl", cold.docs, *storage(cold.settings))
    assert warm.code == 0
    chunks, cached = warm.summary()
    assert cached == chunks == len(cold.run.lines)
    # Five: the binary and blank files are stored too; only chunking them is refused.
    assert stored_files(cold.settings) == files_before == 5
    assert warm.out.read_bytes() == cold.run.out.read_bytes()


@pytest.fixture
def live_server(cold: Cold) -> Iterator[str]:
    """The app under uvicorn on a free 127.0.0.1 port, on the cold run's storage."""
    server = uvicorn.Server(uvicorn.Config(create_app(cold.settings), log_level="warning"))
    with socket.create_server(("127.0.0.1", 0)) as sock:
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        while thread.is_alive() and not server.started:  # set once the lifespan has run
            time.sleep(0.1)
        assert httpx.get(f"{url}/health").status_code == 200
        yield url
        server.should_exit = True
        thread.join(timeout=60)


def test_server_mode_writes_the_same_jsonl(cold: Cold, live_server: str, tmp_path: Path) -> None:
    run = ingest(tmp_path / "server.jsonl", cold.docs, "--server", live_server)
    assert run.code == 0
    assert run.out.read_bytes() == cold.run.out.read_bytes()


def test_documents_are_ingested_by_default_with_pages_and_headings(
    settings: Settings, tmp_path: Path
) -> None:
    missing = documents.missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (listed in .ci/apt-packages.txt)")
    docs = tmp_path / "documents"
    docs.mkdir()
    markdown = documents.gpl_markdown()
    documents.pandoc_file(markdown, docs / "gpl.html", "-s", "--metadata", "title=GPL")
    documents.pandoc_file(markdown, docs / "gpl.docx")
    documents.chromium_pdf(docs / "gpl.html", docs / "gpl.pdf")
    (docs / "locked.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00" * 64)  # corrupt: skipped
    run = ingest(tmp_path / "documents.jsonl", docs, *storage(settings))
    assert run.code == 0
    by_name: dict[str, list[dict[str, Any]]] = {}
    for line in run.lines:
        by_name.setdefault(line["filename"], []).append(line)
    assert sorted(by_name) == ["gpl.docx", "gpl.html", "gpl.pdf"]
    definitions = ["Gnu General Public License", "Terms and conditions", "0. Definitions"]
    for name, lines in by_name.items():
        assert all(line["headings"] for line in lines[1:]), name
        assert any(line["headings"][:2] == definitions[:2] for line in lines), name
        paged = name.endswith(".pdf")
        assert all((line["pages"] is not None) == paged for line in lines), name
    pages = [line["pages"] for line in by_name["gpl.pdf"]]
    assert pages[0][0] == 1 and pages == sorted(pages) and pages[-1][1] > 5
    assert "locked.pdf" in "\n".join(run.logs)


def small_folder(tmp_path: Path) -> Path:
    docs = tmp_path / "small"
    (docs / "deep").mkdir(parents=True)
    shutil.copy(DOCS / "paris.txt", docs / "paris.txt")
    shutil.copy(DOCS / "SOURCES.md", docs / "deep" / "sources.md")
    return docs


def test_glob_keeps_markdown_and_logs_each_file_without_a_tty(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    caplog.set_level(logging.INFO)
    docs = str(small_folder(tmp_path))
    code = main(["ingest", docs, "--glob", "*.md", "-o", "-", *storage(settings)])
    out, err = capsys.readouterr()
    assert code == 0
    assert {json.loads(line)["filename"] for line in out.splitlines()} == {"sources.md"}
    assert "sources.md: 1 chunks" in caplog.text and "paris" not in caplog.text
    assert "it/s" not in err and "file/s" not in err  # no progress bar off a terminal


def test_a_failed_file_exits_1_and_keeps_the_old_output(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("RAGPREP_MAX_UPLOAD_BYTES", "4096")
    docs = small_folder(tmp_path)
    shutil.copy(DOCS / "gpl-3.txt", docs / "gpl-3.txt")  # 35 kB: too large, a failure, not a skip
    (docs / "empty.txt").write_bytes(b"")
    (out := tmp_path / "out.jsonl").write_text("previous run\n")
    assert ingest(out, docs, *storage(settings)).code == 1
    # Its size is checked before it is read, as the server would answer 413.
    too_large = r"failed .*gpl-3\.txt: larger than the upload limit \(35,\d+ bytes"
    assert re.search(too_large, caplog.text)
    assert "empty.txt: empty file" in caplog.text
    assert out.read_text() == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "small", "storage"]


def test_a_busy_server_is_waited_out_not_failed(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A queue far smaller than one file's chunks: only one file's step fits at a time, so the
    # files in flight beside it are turned away with 429 and must come back later.
    monkeypatch.setenv("RAGPREP_QUEUE_SIZE", "4")
    caplog.set_level(logging.INFO)
    docs = tmp_path / "parts"
    docs.mkdir()
    paragraphs = (DOCS / "gpl-3.txt").read_text().split("\n\n")
    for n in range(4):  # distinct texts, so no file is served from another's cached vectors
        (docs / f"part{n}.txt").write_text("\n\n".join(paragraphs[n::4]))
    out = tmp_path / "out.jsonl"
    code = main(["ingest", str(docs), "-o", str(out), "--chunk-capacity", "64", *storage(settings)])
    assert code == 0
    assert "server busy" in caplog.text
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {line["filename"] for line in lines} == {f"part{n}.txt" for n in range(4)}


def test_in_process_run_beside_a_server_on_its_storage_exits_2(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    docs = small_folder(tmp_path)
    with start_live_server(settings.storage_dir) as server:
        code = main(["ingest", str(docs), "-o", str(tmp_path / "o.jsonl"), *storage(settings)])
        assert code == 2
        assert "in use by another ragprep process" in caplog.text
        assert "--server" in caplog.text
        # Told to use the server, the same run succeeds.
        assert (
            main(["ingest", str(docs), "-o", str(tmp_path / "o.jsonl"), "--server", server.url])
            == 0
        )


def test_usage_errors_exit_2(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (hidden_only := tmp_path / "hidden_only").mkdir()
    (hidden_only / ".secret.txt").write_text("not for ingest")
    (earlier := hidden_only / "out.jsonl").write_text("{}\n")  # an earlier OUT is no input
    assert ingest(earlier, hidden_only).code == 2
    assert "no input files found" in caplog.text
    out = tmp_path / "out.jsonl"
    assert ingest(out, tmp_path / "missing").code == 2
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    assert ingest(out, small_folder(tmp_path), "--server", f"http://127.0.0.1:{port}").code == 2
    assert "cannot reach" in caplog.text
    with pytest.raises(SystemExit) as exited:
        main(["ingest", str(hidden_only)])  # -o is required
    assert exited.value.code == 2
    assert not out.exists()


def read_pty(master: int, timeout: float) -> str:
    """All the child wrote to the terminal, until it closes it (EIO) or `timeout` passes."""
    output, deadline = bytearray(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([master], [], [], 1.0)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            output.extend(data)
            if not data:
                break
    return output.decode(errors="replace")


def test_progress_bar_on_a_terminal(settings: Settings, tmp_path: Path) -> None:
    docs = small_folder(tmp_path)
    master, slave = pty.openpty()  # left unsized (0x0): the bar must still be drawn
    argv = [RAGPREP, "ingest", docs, "-o", tmp_path / "out.jsonl", *storage(settings)]
    process = subprocess.Popen(
        [str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave
    )
    os.close(slave)
    try:
        screen = read_pty(master, timeout=300)
        assert process.wait(timeout=60) == 0, screen
    finally:
        os.close(master)
    assert re.search(r"ingest: 100%\|.*\| 2/2 ", screen), screen
    assert "chunks=2" in screen and "tok_s=" in screen
    # The summary is logged; the per-file lines are not: the bar stands for them.
    assert "ingest summary" in screen and not re.search(r"ingested \S+: ", screen)


def test_model_names_are_canonical(
    default_gguf: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An alias resolves to its name; with two models and none named, the server's default."""
    models = tmp_path / "models"
    models.mkdir()
    (models / default_gguf.name).symlink_to(default_gguf)
    shutil.copy(MODELS / "all-MiniLM-L6-v2.yaml", models)
    (models / "twin.yaml").write_text(
        "name: twin\nbackend: llama-cpp\nembeddings: true\n"
        f"parameters:\n  model: {default_gguf.name}\n"
    )
    docs = small_folder(tmp_path)
    where = ["--storage-dir", str(tmp_path / "storage"), "--models-dir", str(models)]
    for model, expected in [
        ([], "all-MiniLM-L6-v2"),
        (["--model", "sentence-transformers/all-MiniLM-L6-v2"], "all-MiniLM-L6-v2"),
        (["--model", "twin"], "twin"),
    ]:
        run = ingest(tmp_path / "out.jsonl", docs, *where, *model)
        assert run.code == 0 and {line["model"] for line in run.lines} == {expected}
    assert ingest(tmp_path / "none.jsonl", docs, *where, "--model", "nope").code == 2
    assert "refused the run: The model 'nope' does not exist" in caplog.text


def test_a_non_utf8_file_name_is_ingested_not_fatal(settings: Settings, tmp_path: Path) -> None:
    docs = small_folder(tmp_path)
    latin1 = os.fsdecode(b"caf\xe9 notes.txt")  # not UTF-8: surrogate escapes in Python
    (docs / latin1).write_text("A cafe in Paris serves coffee and croissants all morning.\n")
    run = ingest(tmp_path / "out.jsonl", docs, *storage(settings))
    assert run.code == 0, run.logs
    lines = run.lines
    names = {line["filename"] for line in lines}
    assert "caf\ufffd notes.txt" in names and "paris.txt" in names
    paths = {line["path"] for line in lines}
    assert any(p.endswith("caf\ufffd notes.txt") for p in paths)
    assert any("caf\ufffd notes.txt" in message for message in run.logs)


def test_scans_and_images_are_ingested_with_their_pages(settings: Settings, tmp_path: Path) -> None:
    missing = [*documents.missing_tools(), *([] if shutil.which("tesseract") else ["tesseract"])]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (listed in .ci/apt-packages.txt)")
    docs, work = tmp_path / "scans", tmp_path / "work"
    docs.mkdir()
    work.mkdir()
    documents.pandoc_file(documents.gpl_markdown(), work / "gpl.html", "-s")
    documents.chromium_pdf(work / "gpl.html", work / "gpl.pdf")
    original = work / "original.pdf"
    pages = ["qpdf", "--empty", "--pages", str(work / "gpl.pdf"), "2-3", "--", str(original)]
    subprocess.run(pages, check=True)
    documents.scanned_pdf(original, docs / "scan.pdf")
    png = ["pdftoppm", "-r", "300", "-gray", "-png", "-f", "2", "-l", "2", "-singlefile"]
    subprocess.run([*png, str(original), str(docs / "page")], check=True)
    run = ingest(tmp_path / "scans.jsonl", docs, *storage(settings))
    assert run.code == 0
    by_name: dict[str, list[dict[str, Any]]] = {}
    for line in run.lines:
        by_name.setdefault(line["filename"], []).append(line)
    assert sorted(by_name) == ["page.png", "scan.pdf"]
    assert {tuple(line["pages"]) for line in by_name["page.png"]} == {(1, 1)}
    assert all(line["ocr_pages"] == [1] for line in by_name["page.png"])
    scan = by_name["scan.pdf"]
    assert scan[0]["pages"][0] == 1 and scan[-1]["pages"][1] == 2
    for line in scan:
        first, last = line["pages"]
        assert line["ocr_pages"] == list(range(first, last + 1))
    text = " ".join(line["text"] for line in scan)
    assert documents.coverage(documents.pdftotext(original), text) >= 0.95
