"""What a backend answers an ingest run with, whichever side it runs on: kept apart from the
HTTP client so that a local run (no --server) never imports httpx (about 90 ms of start-up with
the command-line extras httpx pulls in when they are installed)."""

from __future__ import annotations

from dataclasses import dataclass

# Empty documents are the user's data, not a failure of the run; so are documents the server
# cannot extract (422: encrypted, no text layer, corrupt, too slow; 413: unpacks too large),
# skipped with the server's reason.
SKIP_CODES = {"empty_file": "empty file", "empty_document": "no text to embed"}


class ApiError(Exception):
    """A refusal, from a server (a non-2xx answer, with the fields of its error envelope) or
    from the in-process services (a domain error, see app/ingest/local.py)."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None,
        *,
        retry_after: float = 1.0,
        unusable: bool | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        # The document cannot be used (unsupported, unextractable, unpacks too large).
        self.unusable = unusable

    @property
    def busy(self) -> bool:
        """The server's embedding queue was full: the same request succeeds later."""
        return self.code == "queue_full"

    @property
    def skip_reason(self) -> str | None:
        """Why the file is skipped rather than failed, or None when it is a real failure."""
        if self.code in SKIP_CODES:
            return SKIP_CODES[self.code or ""]
        if self.status == 415 or self.code == "unsupported_media_type":
            return "not a supported document format"
        if self.unusable or self.status == 422 or self.code == "document_too_large":
            return self.message
        return None


@dataclass(frozen=True)
class StoredFile:
    id: str
    filename: str


class Unreachable(Exception):
    """The server could not be reached at all (refused, unresolvable, timed out)."""
