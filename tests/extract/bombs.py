"""Hostile containers built in the tests: a DOCX zip bomb and a billion-laughs DOCX."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

MB = 1 << 20
CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
)
BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE w:document [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>
"""


def zip_bomb(inflated_mb: int, *, declared_bytes: int | None = None) -> bytes:
    """A ZIP whose word/document.xml inflates to `inflated_mb` MiB of zeros (about 1000:1).

    Built from one fully-flushed deflate block repeated, so making it needs no gigabytes.
    `declared_bytes` lies about the inflated size in the headers, as real bombs do.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(MB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = block * inflated_mb + compressor.flush(zlib.Z_FINISH)
    size = inflated_mb * MB
    crc = 0
    zeros = bytes(MB)
    for _ in range(inflated_mb):
        crc = zlib.crc32(zeros, crc)
    declared = size if declared_bytes is None else declared_bytes
    name = b"word/document.xml"
    out = io.BytesIO()
    # Local file header, data, central directory, end record (APPNOTE 4.3), no zip64 needed.
    out.write(
        struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(stream), declared, len(name), 0
        )
    )
    out.write(name)
    out.write(stream)
    directory = out.tell()
    out.write(
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            8,
            0,
            0,
            crc,
            len(stream),
            declared,
            len(name),
            0,
            0,
            0,
            0,
            0,
            0,
        )
    )
    out.write(name)
    end = out.tell()
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, end - directory, directory, 0))
    return out.getvalue()


def replace_part(docx: bytes, name: str, content: bytes) -> bytes:
    """`docx` with one part's content replaced (the others copied as they are)."""
    source = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = content if info.filename == name else source.read(info)
            target.writestr(info.filename, data)
    return out.getvalue()


def read_part(archive: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(archive)).read(name)


def add_part(archive: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO(archive)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as target:
        target.writestr(name, content)
    return out.getvalue()


def pdf_bomb(mb: int) -> bytes:
    """A one-page PDF whose content stream inflates to `mb` MiB of spaces (about 1000:1)."""
    c = zlib.compressobj(9)
    block = c.compress(b" " * (1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    stream = block * mb + c.flush(zlib.Z_FINISH)
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets: list[int] = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def png_bomb(side: int) -> bytes:
    """A valid 1-bit PNG of side x side white pixels: under a MB that decodes to side²/8 bytes
    (60000: 450 MB as bits, 3.6 GB as the 8-bit image an OCR engine works on)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + b"\xff" * (side // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )
