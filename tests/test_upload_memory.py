"""A 300 MB upload streams to disk: the server's peak memory barely moves."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import httpx
import pytest

from benchmarks.live import HOST, LiveServer, live_server

SIZE = 300 * 1024 * 1024
BLOCK = 1024 * 1024
BOUNDARY = "memb0undary"


def _reset_peak(server: LiveServer) -> None:
    """Start the peak (VmHWM) afresh from the current resident size (Linux >= 4.0)."""
    Path(f"/proc/{server.pid}/clear_refs").write_text("5")


def _memory(server: LiveServer) -> dict[str, int]:
    """VmHWM (peak resident since the last reset) and VmRSS (resident now), in bytes."""
    fields = {}
    for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def _send_upload(server: LiveServer) -> tuple[bytes, str]:
    """Stream a SIZE-byte multipart upload over a raw socket; (response, sha256 sent)."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    digest = hashlib.sha256()
    with socket.create_connection((HOST, server.port), timeout=120) as sock:
        sock.sendall(
            f"POST /v1/files HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(head) + SIZE + len(tail)}\r\n\r\n".encode()
            + head
        )
        for n in range(SIZE // BLOCK):
            block = n.to_bytes(8, "little") * (BLOCK // 8)  # distinct blocks: no dedup tricks
            digest.update(block)
            sock.sendall(block)
        sock.sendall(tail)
        response = b""
        while data := sock.recv(65536):
            response += data
    return response, digest.hexdigest()


@pytest.mark.slow
def test_300_mb_upload_keeps_memory_flat(tmp_path: Path) -> None:
    with live_server(tmp_path / "storage") as server:
        # Warm the upload path once so its imports and buffers are not counted as growth.
        httpx.post(f"{server.url}/v1/files", files={"file": ("warm.txt", b"warm")})
        _reset_peak(server)
        before = _memory(server)["VmRSS"]
        response, sent_sha = _send_upload(server)
        growth = _memory(server)["VmHWM"] - before
        head, _, body = response.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), response[:500]
        file_id = json.loads(body)["id"]
        print(f"300 MiB upload: server peak memory grew {growth / 2**20:.1f} MiB")
        assert growth < 100 * 1024 * 1024, f"peak memory grew {growth / 2**20:.0f} MiB"

        stored = hashlib.sha256()
        with httpx.stream("GET", f"{server.url}/v1/files/{file_id}/content", timeout=120) as r:
            assert r.status_code == 200
            for chunk in r.iter_bytes():
                stored.update(chunk)
        assert stored.hexdigest() == sent_sha
        assert (server.storage / "files" / file_id).stat().st_size == SIZE
