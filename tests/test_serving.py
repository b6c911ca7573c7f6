"""`ragprep serve` as operators run it: slow clients cut off, JSON logs with request ids, and
requests cut at shutdown answered in the error envelope. A live server and raw sockets."""

from __future__ import annotations

import json
import select
import signal
import socket
import time
from pathlib import Path

import httpx

from benchmarks.live import HOST, LiveServer, live_server

DRIP_SECONDS = 20.0  # how long the dripping clients below would stay without a time-out


def closed_after(sock: socket.socket, drip: bytes, every: float) -> float:
    """Send `drip` every `every` seconds until the server closes; seconds that took."""
    start = time.monotonic()
    sock.setblocking(False)
    while time.monotonic() - start < DRIP_SECONDS:
        try:
            sock.send(drip)
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start
        readable, _, _ = select.select([sock], [], [], every)
        if readable:
            try:
                if sock.recv(65536) == b"":
                    return time.monotonic() - start
            except ConnectionResetError:
                return time.monotonic() - start
    return DRIP_SECONDS


def read_response(sock: socket.socket, timeout: float) -> tuple[float, bytes]:
    """Everything the server sends until it closes, and the seconds until it did."""
    start = time.monotonic()
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return time.monotonic() - start, data


def envelope_of(raw: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    error: dict[str, object] = json.loads(body)["error"]
    return status, headers, error


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection((HOST, server.port), timeout=10)


def test_slow_clients_are_cut_off_and_logs_are_json(tmp_path: Path) -> None:
    env = {
        "RAGPREP_HEADER_READ_TIMEOUT": "1",
        "RAGPREP_BODY_READ_TIMEOUT": "1",
        "RAGPREP_LOG_FORMAT": "json",
    }
    with live_server(tmp_path / "storage", env=env) as server:
        # One header line every 0.3 s: the head never completes.
        with connect(server) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            assert closed_after(sock, b"X-Slow: 1\r\n", every=0.3) < 5
        # A client that connects and sends nothing.
        with connect(server) as sock:
            assert read_response(sock, timeout=DRIP_SECONDS)[0] < 5
        # A body arriving one byte every 2 s: 408 in the envelope, connection closed.
        with connect(server) as sock:
            sock.sendall(
                b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\nX-Request-ID: slow-body\r\n\r\n{"
            )
            took, raw = read_response(sock, timeout=DRIP_SECONDS)
            assert took < 5
            status, headers, error = envelope_of(raw)
            assert status == 408 and error["code"] == "request_timeout"
            assert headers["connection"] == "close" and headers["x-request-id"] == "slow-body"
        # Patient clients are unaffected: keep-alive requests on one connection.
        with httpx.Client(base_url=server.url) as client:
            for n in range(3):
                response = client.get("/health", headers={"X-Request-ID": f"live-{n}"})
                assert response.headers["x-request-id"] == f"live-{n}"
                time.sleep(0.4)
        server.signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    records = [json.loads(line) for line in server.log().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message", "request_id"} <= set(r) for r in records)
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert {r["request_id"] for r in access} >= {"live-0", "live-1", "live-2", "slow-body"}
    assert any("/health" in r["message"] and r["request_id"] == "live-1" for r in access)
    assert any(r["message"] == "Application shutdown complete." for r in records)


def test_requests_cut_at_shutdown_get_the_envelope(tmp_path: Path) -> None:
    env = {"RAGPREP_SHUTDOWN_TIMEOUT": "1"}
    with live_server(tmp_path / "storage", env=env) as server, connect(server) as sock:
        # In flight: the head is in, the body is slower than the shutdown grace.
        sock.sendall(
            b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        time.sleep(0.5)
        server.signal(signal.SIGTERM)
        took, raw = read_response(sock, timeout=30)
        status, headers, error = envelope_of(raw)
        assert status == 503, raw
        assert error["code"] == "shutting_down" and error["type"] == "server_error"
        assert headers["content-type"] == "application/json"
        assert server.wait(timeout=60) == 0
        assert took < 10
