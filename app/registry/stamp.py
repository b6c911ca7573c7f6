"""Sidecar stamps: a model file validated and hashed once, recognised afterwards by a stat().

Reading a GGUF with gguf's pure-Python reader and hashing it cost ~1.3 s at every start-up; a
stamp records the file's size, mtime and SHA-256 (and how it was built) beside it instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stamp:
    size: int
    mtime_ns: int
    sha256: str
    weight_type: str = ""
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def stamp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.stamp.json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_stamp(path: Path) -> Stamp | None:
    """The stamp of `path` if it still describes the file on disk (same size and mtime)."""
    try:
        raw = json.loads(stamp_path(path).read_text(encoding="utf-8"))
        stat = path.stat()
        stamp = Stamp(**raw)
    except (OSError, ValueError, TypeError):
        return None
    if stamp.size != stat.st_size or stamp.mtime_ns != stat.st_mtime_ns:
        return None
    return stamp


def write_stamp(path: Path, *, weight_type: str = "", reason: str = "", **extra: Any) -> Stamp:
    stat = path.stat()
    stamp = Stamp(
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        sha256=file_sha256(path),
        weight_type=weight_type,
        reason=reason,
        extra=extra,
    )
    # A read-only models dir only costs the stamp: the next start hashes the file again.
    with contextlib.suppress(OSError):
        stamp_path(path).write_text(json.dumps(asdict(stamp), indent=2), encoding="utf-8")
    return stamp


def fingerprint(path: Path) -> str:
    """SHA-256 of `path`, from its stamp while the file is unchanged, else hashed and stamped."""
    stamp = read_stamp(path)
    if stamp is not None:
        return stamp.sha256
    log.debug("hashing %s (no current stamp)", path)
    return write_stamp(path).sha256
