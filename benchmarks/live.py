"""A real `ragprep serve` subprocess on 127.0.0.1, for the soak run and the tests that need
signals, process memory or raw sockets. One place, shared by benchmarks/ and tests/.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
HOST = "127.0.0.1"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One certificate store for every benchmark client. httpx otherwise loads certifi's for
    each client it creates (~30 ms of CPU, measured), which a round of 16 clients pays 16 times
    on the very cores the server is being timed on: most of the HTTP path's apparent overhead on
    short texts. A real client keeps its client; so do the benchmarks now."""
    return ssl.create_default_context()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _command(port: int, storage: Path, models: Path) -> list[str]:
    script = Path(sys.executable).with_name("ragprep")
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]
    options = ["--host", HOST, "--port", str(port), "--storage-dir", str(storage)]
    return [*launcher, "serve", *options, "--models-dir", str(models)]


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    port: int
    storage: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_bytes(self) -> int:
        """Resident memory now, from /proc (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS line")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def wait_healthy(url: str, *, alive: Callable[[], bool], timeout: float) -> None:
    """Poll `url`/health until it answers 200: RuntimeError if the server stops first,
    TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server at {url} stopped before /health answered")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url}/health did not answer within {timeout:.0f}s")


def _wait_healthy(server: LiveServer, timeout: float) -> None:
    try:
        wait_healthy(server.url, alive=lambda: server.process.poll() is None, timeout=timeout)
    except (RuntimeError, TimeoutError) as exc:
        server.kill()
        raise type(exc)(f"{exc}; its log:\n{server.log()}") from exc


def start_server(
    storage: Path,
    *,
    env: dict[str, str] | None = None,
    models: Path = MODELS,
    timeout: float = 60.0,
) -> LiveServer:
    """Start and wait for /health. Only `env` configures it: inherited RAGPREP_* are dropped."""
    server = launch_server(storage, env=env, models=models)
    wait_ready(server, timeout)
    return server


def launch_server(
    storage: Path, *, env: dict[str, str] | None = None, models: Path = MODELS
) -> LiveServer:
    """Start without waiting (replicas starting at once); then `wait_ready` each."""
    storage.mkdir(parents=True, exist_ok=True)
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAGPREP_")}
    log_path = storage.parent / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            _command(port, storage, models),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**clean, **(env or {})},
            cwd=REPO,
        )
    return LiveServer(process=process, port=port, storage=storage, log_path=log_path)


def wait_ready(server: LiveServer, timeout: float) -> None:
    """Wait for /health; the server is killed and its log shown if it never answers."""
    _wait_healthy(server, timeout)


@contextmanager
def live_server(
    storage: Path, *, env: dict[str, str] | None = None, timeout: float = 60.0
) -> Iterator[LiveServer]:
    """A started server, killed on exit if the caller did not stop it."""
    server = start_server(storage, env=env, timeout=timeout)
    try:
        yield server
    finally:
        server.kill()
