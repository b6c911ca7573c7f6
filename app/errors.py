"""Domain errors: what went wrong, in the domain's words, with a stable code.

They know nothing of HTTP. `app/api/errors.py` maps each class to its status and OpenAI's error
envelope, and turns `subject` (the thing at fault: "file", "input", "model", ...) into the
request field of the route that was called.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a caller can cause: a message, a code and what it is about."""

    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        subject: str | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # The thing at fault, in the domain's words ("file", "input", "store"); never a
        # request field: routes name their own fields.
        self.subject = subject
        if code is not None:
            self.code = code
        self.retry_after = retry_after  # seconds after which the same call may succeed

    def again(self, message: str | None = None) -> DomainError:
        """A copy (with another message): one error shared by several waiters is raised once
        per waiter, each with its own traceback."""
        return type(self)(
            message or self.message,
            subject=self.subject,
            code=self.code,
            retry_after=self.retry_after,
        )


class InvalidRequest(DomainError):
    """The request is well-formed JSON/multipart but asks for something impossible."""


class Unauthorized(DomainError):
    """Missing or wrong API key; OpenAI answers these with type invalid_request_error too."""

    code = "invalid_api_key"


class NotFound(DomainError):
    code = "not_found"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMedia(DomainError):
    code = "unsupported_media_type"


class InsufficientStorage(DomainError):
    """The disk filled up while storing; nothing was kept. Retry once space is freed."""

    code = "insufficient_storage"


class UnprocessableDocument(DomainError):
    """A file of a supported type whose content cannot be extracted (encrypted, corrupt, ...)."""

    code = "unprocessable_document"


class DocumentTooLarge(PayloadTooLarge):
    """A container (DOCX, ...) whose unpacked content exceeds the extraction limit."""

    code = "document_too_large"


class Overloaded(DomainError):
    code = "queue_full"


class Unavailable(DomainError):
    code = "unavailable"
