"""Optional API keys: once any key is configured, every /v1 route needs `Bearer <key>`."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings

CHALLENGE = {"WWW-Authenticate": "Bearer"}


class KeyFileError(RuntimeError):
    """The configured key file cannot be used; starting without auth would fail open."""


@dataclass(frozen=True)
class ApiKeys:
    keys: tuple[bytes, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def accepts(self, token: str) -> bool:
        # Header values arrive latin-1 decoded; this gives back the bytes the client sent.
        presented = token.encode("latin-1", errors="replace")
        matched = False
        for key in self.keys:
            # No early exit: the time taken must not reveal which key (or whether one) matched.
            matched |= hmac.compare_digest(presented, key)
        return matched


def read_key_file(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read API key file {path}: {exc}") from exc
    keys = [line.strip() for line in text.splitlines()]
    keys = [key for key in keys if key and not key.startswith("#")]
    if not keys:
        raise KeyFileError(f"API key file {path} has no keys (blank lines and # comments only)")
    return keys


def load_api_keys(settings: Settings) -> ApiKeys:
    keys = list(settings.api_keys)
    if settings.api_key_file is not None:
        keys += read_key_file(settings.api_key_file)
    return ApiKeys(tuple(key.encode() for key in dict.fromkeys(keys)))
