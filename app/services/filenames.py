"""The name a file is stored under: the client's, made safe to show."""

from __future__ import annotations

import unicodedata

# Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder how the rest
# of a name displays: "invoice\u202etxt.exe" reads as "invoiceexe.txt". The marks LRM/RLM/ALM
# and joiners (ZWNJ, ZWJ) only shape text and are kept.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _kept(ch: str) -> bool:
    return unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS


def clean_filename(raw: str | None) -> str:
    """The client's name as metadata: its last path component with every character kept but
    C0/C1 controls and bidi overrides, at most 255 characters. Never used in a path."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if _kept(ch))
    if name.strip() in ("", ".", ".."):
        return "upload"
    if len(name) > 255:
        _, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        name = name[: 255 - len(keep) - 1] + "." + keep if keep else name[:255]
    return name
