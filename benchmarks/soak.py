"""Soak: concurrent clients mix uploads, reads, chunking, embeddings and deletes against a live
`ragprep serve`; afterwards every surviving file must be listed and hash to what was uploaded.

Run from the repository root:

    python -m benchmarks.soak [--clients 16] [--seconds 30] [--seed 7]

Exits 1 on any 5xx, any status an operation does not document, a torn or wrong file content,
or a listing that differs from the files that should have survived. tests/test_soak.py runs a
shorter soak in the suite.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.live import live_server

WORDS = [
    "paris",
    "river",
    "seine",
    "museum",
    "bridge",
    "tower",
    "street",
    "market",
    "garden",
    "library",
    "station",
    "winter",
    "summer",
    "history",
    "city",
    "light",
    "north",
    "south",
    "language",
    "music",
    "painting",
    "science",
    "school",
    "harbour",
]
# What each operation may answer while others race it (404: a concurrent delete won; 415: the
# file is binary; 429: the embedding queue is full, which a client must simply retry).
ALLOWED = {
    "upload": {200},
    "read": {200, 404},
    "chunks": {200, 404, 415},
    "file_embeddings": {200, 404, 415, 429},
    "embeddings": {200, 429},
    "delete": {200, 404},
}
MIX = (
    ("upload", 30),
    ("read", 15),
    ("chunks", 20),
    ("embeddings", 20),
    ("file_embeddings", 5),
    ("delete", 10),
)


@dataclass
class SoakReport:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    problems: list[str] = field(default_factory=list)
    survivors: int = 0
    seconds: float = 0.0

    def record(self, kind: str, response: httpx.Response, seconds: float) -> None:
        self.statuses[(kind, response.status_code)] += 1
        self.latencies[kind].append(seconds)
        if response.status_code not in ALLOWED[kind]:
            self.problems.append(f"{kind}: {response.status_code} {response.text[:200]}")

    @property
    def server_errors(self) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status >= 500)

    def lines(self) -> list[str]:
        total = sum(self.statuses.values())
        out = [f"{total} requests in {self.seconds:.1f} s ({total / self.seconds:.1f}/s)"]
        for kind, times in sorted(self.latencies.items()):
            codes = ", ".join(
                f"{status}: {n}" for (k, status), n in sorted(self.statuses.items()) if k == kind
            )
            p50 = statistics.median(times) * 1000
            p99 = sorted(times)[int(0.99 * (len(times) - 1))] * 1000
            out.append(f"  {kind:16} {len(times):5}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  {codes}")
        out.append(f"5xx: {self.server_errors}; surviving files verified: {self.survivors}")
        out += [f"PROBLEM {p}" for p in self.problems[:20]]
        return out


def _document(rng: random.Random) -> tuple[str, bytes]:
    if rng.random() < 0.1:  # binary: chunking must answer 415, never 500
        return "blob.bin", rng.randbytes(rng.randint(1, 64 * 1024))
    words = rng.choices(WORDS, k=rng.randint(20, 8000))
    body = " ".join(words).encode()
    return rng.choice(("notes.txt", "page.md")), body


@dataclass
class Soak:
    client: httpx.AsyncClient
    deadline: float
    report: SoakReport
    live: dict[str, str] = field(default_factory=dict)  # file id -> sha256 of what was sent

    async def _timed(self, kind: str, method: str, url: str, **kwargs: object) -> httpx.Response:
        started = time.perf_counter()
        response = await self.client.request(method, url, **kwargs)  # type: ignore[arg-type]
        self.report.record(kind, response, time.perf_counter() - started)
        return response

    async def worker(self, seed: int) -> None:
        rng = random.Random(seed)
        kinds, weights = zip(*MIX, strict=True)
        while time.monotonic() < self.deadline:
            kind = rng.choices(kinds, weights)[0]
            target = rng.choice(sorted(self.live)) if self.live else None
            if kind == "upload" or target is None:
                await self._upload(rng)
            else:
                await getattr(self, f"_{kind}")(rng, target)

    async def _upload(self, rng: random.Random) -> None:
        name, data = _document(rng)
        response = await self._timed("upload", "POST", "/v1/files", files={"file": (name, data)})
        if response.status_code == 200:
            self.live[response.json()["id"]] = hashlib.sha256(data).hexdigest()

    async def _read(self, rng: random.Random, file_id: str) -> None:
        response = await self._timed("read", "GET", f"/v1/files/{file_id}/content")
        expected = self.live.get(file_id)
        if response.status_code != 200 or expected is None:
            return  # deleted meanwhile
        if hashlib.sha256(response.content).hexdigest() != expected:
            self.report.problems.append(f"read {file_id}: content differs from the upload")

    async def _chunks(self, rng: random.Random, file_id: str) -> None:
        body = {"id": file_id, "chunk_capacity": rng.choice((64, 128, 256, 510))}
        await self._timed("chunks", "POST", "/v1/chunks", json=body)

    async def _embeddings(self, rng: random.Random, _: str) -> None:
        inputs = [" ".join(rng.choices(WORDS, k=rng.randint(3, 120))) for _ in range(16)]
        body = {"input": inputs[: rng.randint(1, 16)]}
        response = await self._timed("embeddings", "POST", "/v1/embeddings", json=body)
        if response.status_code == 200 and len(response.json()["data"]) != len(body["input"]):
            self.report.problems.append("embeddings: wrong number of vectors")

    async def _file_embeddings(self, rng: random.Random, file_id: str) -> None:
        body = {"chunk_capacity": rng.choice((128, 256)), "encoding_format": "base64"}
        await self._timed("file_embeddings", "POST", f"/v1/files/{file_id}/embeddings", json=body)

    async def _delete(self, rng: random.Random, file_id: str) -> None:
        expected = self.live.pop(file_id, None)  # no one picks it again once the delete starts
        response = await self._timed("delete", "DELETE", f"/v1/files/{file_id}")
        if response.status_code != 200 and expected is not None:
            self.live[file_id] = expected

    async def verify(self) -> None:
        """Every surviving file is listed, and its bytes hash to what was uploaded."""
        listed = (await self.client.get("/v1/files", params={"limit": 10_000})).json()["data"]
        listed_ids = {item["id"] for item in listed}
        if listed_ids != set(self.live):
            missing, extra = set(self.live) - listed_ids, listed_ids - set(self.live)
            self.report.problems.append(f"listing: missing {missing}, unexpected {extra}")
        for file_id, expected in self.live.items():
            response = await self.client.get(f"/v1/files/{file_id}/content")
            if hashlib.sha256(response.content).hexdigest() != expected:
                self.report.problems.append(f"survivor {file_id}: content differs")
        self.report.survivors = len(self.live)


async def soak(url: str, *, clients: int = 16, seconds: float = 30.0, seed: int = 7) -> SoakReport:
    report = SoakReport()
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        run = Soak(client, time.monotonic() + seconds, report)
        started = time.perf_counter()
        await asyncio.gather(*(run.worker(seed * 1000 + n) for n in range(clients)))
        report.seconds = time.perf_counter() - started
        await run.verify()
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="ragprep-soak-") as tmp,
        live_server(Path(tmp) / "storage") as server,
    ):
        report = asyncio.run(
            soak(server.url, clients=args.clients, seconds=args.seconds, seed=args.seed)
        )
    print("\n".join(report.lines()))
    return 1 if report.problems or report.server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
