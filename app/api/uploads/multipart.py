"""Incremental multipart/form-data reading: turns body chunks into part events without buffering.

Starlette's own form parser spools whole files to a temp dir first; reading the stream ourselves
lets uploads go straight to storage/, hash while streaming and stop at the size limit.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.errors import InvalidRequest


@dataclass
class PartStart:
    name: str
    filename: str | None


@dataclass
class PartData:
    data: bytes


@dataclass
class PartEnd:
    pass


Event = PartStart | PartData | PartEnd


# RFC 2046 section 5.1.1: a boundary is 1 to 70 characters.
MAX_BOUNDARY = 70
# RFC 5987 asks recipients for these two; anything else is read as UTF-8.
_FILENAME_CHARSETS = frozenset({"utf-8", "iso8859-1", "ascii"})


def boundary_of(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidRequest(
            "Expected a multipart/form-data body with a 'file' field",
            subject="upload",
            code="invalid_content_type",
        )
    if len(boundary) > MAX_BOUNDARY:
        raise InvalidRequest(
            f"The multipart boundary is {len(boundary)} characters; at most {MAX_BOUNDARY} "
            "are allowed (RFC 2046)",
            subject="upload",
            code="invalid_content_type",
        )
    return boundary


def _decode_header(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# python-multipart's option parser drops RFC 5987 `filename*=charset'lang'percent-encoded`.
_EXTENDED_FILENAME = re.compile(rb"filename\*\s*=\s*([^;]+)", re.IGNORECASE)


def _filename(disposition: bytes, options: dict[bytes, bytes]) -> str | None:
    extended = _EXTENDED_FILENAME.search(disposition)
    if extended is not None:
        charset, _, rest = _decode_header(extended.group(1).strip().strip(b'"')).partition("'")
        _, _, encoded = rest.partition("'")
        return unquote(encoded, encoding=_filename_charset(charset), errors="replace")
    plain = options.get(b"filename")
    return None if plain is None else _decode_header(plain)


def _filename_charset(name: str) -> str:
    """The declared charset if it is one RFC 5987 names, else UTF-8: an odd name (a codec
    like 'idna' or 'rot13', or none at all) must not fail the upload."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return "utf-8"
    return canonical if canonical in _FILENAME_CHARSETS else "utf-8"


@dataclass
class MultipartStream:
    """Feed raw body chunks; collect the events each chunk produced."""

    boundary: bytes
    _events: list[Event] = field(default_factory=list)
    _headers: dict[str, bytes] = field(default_factory=dict)
    _field: bytearray = field(default_factory=bytearray)
    _value: bytearray = field(default_factory=bytearray)
    # Set by the parser on the closing boundary; without it the body was cut short.
    _complete: bool = False

    def __post_init__(self) -> None:
        self._parser = MultipartParser(
            self.boundary,
            callbacks={
                "on_part_begin": self._headers.clear,
                "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": lambda d, s, e: self._events.append(PartData(bytes(d[s:e]))),
                "on_part_end": lambda: self._events.append(PartEnd()),
                "on_end": self._end,
            },
        )

    def feed(self, chunk: bytes) -> list[Event]:
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise InvalidRequest(f"Malformed multipart body: {exc}", code="invalid_body") from exc
        events, self._events = self._events, []
        return events

    def finish(self) -> list[Event]:
        """The last events; InvalidRequest if the body ended before its closing boundary
        (python-multipart's own finalize does not check)."""
        self._parser.finalize()
        if not self._complete:
            raise InvalidRequest(
                "The multipart body ended before its closing boundary: the upload is incomplete",
                subject="upload",
                code="incomplete_body",
            )
        events, self._events = self._events, []
        return events

    def _end(self) -> None:
        self._complete = True

    def _header_end(self) -> None:
        self._headers[bytes(self._field).decode("latin-1").lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        disposition = self._headers.get("content-disposition", b"")
        _, options = parse_options_header(disposition)
        name = _decode_header(options.get(b"name", b""))
        self._events.append(PartStart(name=name, filename=_filename(disposition, options)))
