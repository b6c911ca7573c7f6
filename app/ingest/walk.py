"""Which files an ingest run reads: explicit files as given, folders walked in sorted order."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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


def find_files(paths: Sequence[Path], glob: str | None = None) -> list[InputFile]:
    """Every file under `paths`, in argument order then sorted walk order, each once.

    Hidden files and folders are skipped while walking; `glob` filters the names of walked
    files. A file named explicitly is always taken: the user asked for it by name.
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise MissingPath(f"no such file or directory: {', '.join(missing)}")
    found: list[InputFile] = []
    seen: set[Path] = set()
    for root in paths:
        candidates = _walk(root, glob) if root.is_dir() else iter([root])
        for path in candidates:
            real = path.resolve()
            if real not in seen:
                seen.add(real)
                found.append(InputFile(path=path, display=display_path(path)))
    return found


def _walk(root: Path, glob: str | None) -> Iterator[Path]:
    # os.walk does not follow directory symlinks, so a link cycle cannot loop forever.
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or (glob is not None and not fnmatch(name, glob)):
                continue
            path = Path(folder) / name
            if path.is_file():  # skips sockets, FIFOs and dangling links
                yield path


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
