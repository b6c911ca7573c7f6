"""`ragprep ingest` over hostile folders: links out of the root, FIFOs, sockets, link loops, huge
files and very deep trees (issue 24)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

from app.cli import main
from app.config import Settings
from app.ingest.walk import find_files, scan
from tests.ingest.test_ingest import DOCS, storage


def _folder(tmp_path: Path) -> tuple[Path, Path]:
    """A root holding one document, and a secret file outside it."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(DOCS / "paris.txt", root / "paris.txt")
    secret = tmp_path / "secret.txt"
    secret.write_text("The secret outside the folder.")
    return root, secret


def test_links_out_of_the_folder_are_not_followed_unless_asked(tmp_path: Path) -> None:
    root, secret = _folder(tmp_path)
    (root / "link.txt").symlink_to(secret)
    (root / "zz-inside.txt").symlink_to(root / "paris.txt")  # inside: the same file, once
    assert [f.path.name for f in find_files([root])] == ["paris.txt"]
    ((name, why),) = scan([root]).skipped
    assert name.endswith("root/link.txt")
    assert why == "symbolic link out of the folder (not followed without --follow-symlinks)"
    followed = scan([root], follow_symlinks=True)
    assert sorted(f.path.name for f in followed.files) == ["link.txt", "paris.txt"]


def test_fifos_sockets_and_loops_are_skipped_and_listed(tmp_path: Path) -> None:
    root, _ = _folder(tmp_path)
    os.mkfifo(root / "pipe.txt")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "sock.txt"))
    (root / "up").symlink_to(root)  # a loop
    (root / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    try:
        reasons = {Path(name).name: why for name, why in scan([root]).skipped}
        looped = {Path(name).name: why for name, why in scan([root], follow_symlinks=True).skipped}
    finally:
        server.close()
    assert reasons["pipe.txt"].startswith("a FIFO")
    assert reasons["sock.txt"].startswith("a socket")
    assert reasons["dangling.txt"] == "broken symbolic link"
    assert reasons["up"].startswith("symbolic link to a folder")
    assert looped["up"] == "symbolic link loop"


def _remove_tree(root: Path) -> None:
    """Deepest first, without recursion: shutil.rmtree (and so pytest's own clean-up of old
    temporary folders, shared by every run on the machine) recurses and fails at this depth."""
    folders = [root]
    for folder in folders:
        folders.extend(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
    for folder in reversed(folders):
        for path in folder.iterdir():
            if not path.is_dir() or path.is_symlink():
                path.unlink()
        folder.rmdir()


def test_a_folder_1100_levels_deep_is_walked(tmp_path: Path) -> None:
    deep = leaf = tmp_path / "deep"
    try:
        for _ in range(1101):  # one by one: mkdir(parents=True) recurses too
            leaf.mkdir()
            leaf = leaf / "d"
        leaf = leaf.parent
        shutil.copy(DOCS / "paris.txt", leaf / "paris.txt")
        (found,) = find_files([deep])  # was a RecursionError
        assert found.path == leaf / "paris.txt"
    finally:
        _remove_tree(deep)


def test_a_fifo_named_on_the_command_line_does_not_hang(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    root, _ = _folder(tmp_path)
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    os.mkfifo(root / "inner-pipe.txt")
    codes: list[int] = []
    args = ["ingest", str(fifo), str(root), "-o", str(tmp_path / "out.jsonl"), *storage(settings)]
    run = threading.Thread(target=lambda: codes.append(main(args)), daemon=True)
    run.start()
    run.join(timeout=120)
    if run.is_alive():  # release the reader blocked on the FIFO, then fail
        with open(fifo, "wb"):
            pass
        run.join(timeout=30)
        pytest.fail("ingest hung on a FIFO")
    assert codes == [0]
    assert "2 skipped, 0 failed" in caplog.text
    assert "/pipe.txt: a FIFO (named pipe), not a regular file" in caplog.text
    assert "inner-pipe.txt: a FIFO" in caplog.text


def test_a_huge_file_fails_on_its_size_unread(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("RAGPREP_MAX_UPLOAD_BYTES", "4096")
    root, _ = _folder(tmp_path)
    with open(root / "huge.txt", "wb") as huge:  # sparse: 100 MB that take no disk
        huge.truncate(100 * 1000 * 1000)
    out = tmp_path / "out.jsonl"
    code = main(["ingest", str(root), "-o", str(out), *storage(settings)])
    assert code == 1
    assert "huge.txt: larger than the upload limit (100,000,000 bytes" in caplog.text
