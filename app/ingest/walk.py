"""Which files an ingest run reads: explicit files as given, folders walked in sorted order.

Walking never leaves a folder through a symbolic link unless asked to (--follow-symlinks), never
opens anything but regular files (a FIFO would block the read forever, /dev/zero never ends), and
is iterative, so a folder 1,100 levels deep is no RecursionError. What it passes over, and why,
goes into the run's summary.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path


class MissingPath(Exception):
    """A PATH argument that does not exist: a usage error, reported before any work starts."""


@dataclass(frozen=True)
class InputFile:
    path: Path
    display: str  # what the JSONL `path` field and the log show

    @property
    def name(self) -> str:
        """The name the file is stored under: its own (a link's, not its target's), readable."""
        return readable(self.path.name)


@dataclass
class Inputs:
    files: list[InputFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (display path, why)


def find_files(paths: Sequence[Path], glob: str | None = None) -> list[InputFile]:
    """Every file under `paths` (see `scan`)."""
    return scan(paths, glob).files


def scan(
    paths: Sequence[Path], glob: str | None = None, *, follow_symlinks: bool = False
) -> Inputs:
    """Every regular file under `paths`, in argument order then sorted walk order, each once,
    and what was passed over (links out of a folder, FIFOs, sockets, devices, link loops).

    Hidden files and folders are skipped while walking; `glob` filters the names of walked
    files. A file named explicitly is taken if it is a regular file (a link to one included):
    the user asked for it by name.
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise MissingPath(f"no such file or directory: {', '.join(missing)}")
    found = Inputs()
    seen: set[Path] = set()
    for root in paths:
        if root.is_dir():
            candidates: Iterator[Path] = _walk(root, glob, follow_symlinks, found.skipped)
        else:
            why = _not_regular(root.stat().st_mode)
            if why is not None:
                found.skipped.append((display_path(root), why))
            candidates = iter([] if why else [root])
        for path in candidates:
            real = path.resolve()
            if real not in seen:
                seen.add(real)
                found.files.append(InputFile(path=path, display=display_path(path)))
    return found


def _walk(
    root: Path, glob: str | None, follow: bool, skipped: list[tuple[str, str]]
) -> Iterator[Path]:
    """Depth first, sorted, a folder's files before its subfolders (os.walk's order), with a
    stack instead of recursion."""
    top = root.resolve()
    walked = {top}  # real folders entered: a link back to one of them is a loop
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            skipped.append((display_path(folder), f"folder not readable ({exc.strerror})"))
            continue
        subfolders: list[Path] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            kind, why = _kind(path, entry.is_symlink(), top, follow)
            if kind == "dir":
                real = path.resolve()
                if real in walked:
                    skipped.append((display_path(path), "symbolic link loop"))
                    continue
                walked.add(real)
                subfolders.append(path)
            elif kind == "file":
                if glob is None or fnmatch(entry.name, glob):
                    yield path
            elif why is not None:
                skipped.append((display_path(path), why))
        stack.extend(reversed(subfolders))


def _kind(path: Path, is_link: bool, top: Path, follow: bool) -> tuple[str, str | None]:
    """("dir" | "file" | "skip", why skipped)."""
    try:
        mode = path.stat().st_mode  # follows links
    except FileNotFoundError:
        return "skip", "broken symbolic link"
    except OSError as exc:
        return "skip", "symbolic link loop" if is_link else f"not readable ({exc.strerror})"
    if is_link and not follow:
        target = path.resolve()
        if stat.S_ISDIR(mode):
            return "skip", "symbolic link to a folder (not followed without --follow-symlinks)"
        if not target.is_relative_to(top):
            return (
                "skip",
                "symbolic link out of the folder (not followed without --follow-symlinks)",
            )
    if stat.S_ISDIR(mode):
        return "dir", None
    why = _not_regular(mode)
    return ("skip", why) if why else ("file", None)


def _not_regular(mode: int) -> str | None:
    """Why a path of this mode is not read (None for a regular file or a folder)."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    return "a device, not a regular file"


def readable(text: str) -> str:
    """`text` as valid Unicode: the bytes of a non-UTF-8 file name (surrogate escapes in
    Python) become U+FFFD, so the name can be logged, uploaded and written as UTF-8 JSON."""
    return os.fsencode(text).decode("utf-8", errors="replace")


def display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it, else as given."""
    if path.is_absolute():
        try:
            return readable(path.relative_to(Path.cwd()).as_posix())
        except ValueError:
            return readable(path.as_posix())
    return readable(path.as_posix())


class SkipFile(Exception):
    """A file passed over when it is read (not a regular file): the reason."""


class FileTooLarge(Exception):
    """A file over the upload limit, found before reading it: a failure, as the server's 413."""


_BLOCK = 1 << 20


def read_regular(path: Path, max_bytes: int) -> tuple[bytes, str]:
    """The file's bytes and SHA-256, read in blocks. Its type and size are checked first (a
    FIFO swapped in after the walk neither blocks the open nor the read; a huge file is never
    read), and the size again while reading (a file still growing)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise SkipFile(_not_regular(info.st_mode) or "a folder, not a regular file")
        if info.st_size > max_bytes:
            raise FileTooLarge(_too_large(info.st_size, max_bytes))
        digest = hashlib.sha256()
        data = bytearray()
        while block := handle.read(_BLOCK):
            data += block
            digest.update(block)
            if len(data) > max_bytes:
                raise FileTooLarge(_too_large(len(data), max_bytes))
    return bytes(data), digest.hexdigest()


def _too_large(size: int, limit: int) -> str:
    return f"larger than the upload limit ({size:,} bytes; RAGPREP_MAX_UPLOAD_BYTES is {limit:,})"
