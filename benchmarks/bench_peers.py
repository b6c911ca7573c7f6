"""ragprep against its peers, same texts, same run, interleaved: sentence-transformers (PyTorch
CPU), OpenVINO and ONNX Runtime used directly, and llama-cpp-python's own server, on short texts
and chunk-sized texts.

    python -m benchmarks.bench_peers [--rounds 3] [--short 384] [--chunks 96] [--quick]

Needs the `bench` extra (`pip install torch==2.13.0` first, then `pip install -e '.[bench]'`).
Paths: ragprep's engine in-process (one queue, its default workers x threads), ragprep over
HTTP (`ragprep serve`, 16 concurrent clients of 8-32 inputs, embedding cache off),
sentence-transformers (batch 8 and 32; the better one is the peer figure) and
`python -m llama_cpp.server --embedding` (requests of 32 inputs), OpenVINO on the HF model
converted by `openvino.convert_model` with its default compile options and ONNX Runtime on its
`torch.onnx.export` (both batches of 32 sorted by length, mean pooling: benchmarks/peers_direct).
Rates are model tokens/s
with [CLS]/[SEP]; each figure is the median of --rounds, paths interleaved within each round.
Fidelity is the minimum cosine of each path's vectors against sentence-transformers'.
Then the latency of a 1-input request sent while a 2048-input request is being embedded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

from app.config import Settings
from app.engine.batcher import BatchEngine
from app.engine.catalog import load_catalog
from app.engine.llama import LlamaTokenizer
from app.registry.fidelity import FLOOR
from app.registry.prepare import packaged_default_weights, prepare_default
from benchmarks.bench_embeddings import REQUEST_SIZES, SEED, machine_line
from benchmarks.corpus import Workload, rag_chunks
from benchmarks.live import MODELS, free_port, live_server, tls_context, wait_healthy
from benchmarks.peers_direct import onnx_runtime, openvino_direct

Matrix = npt.NDArray[np.float32]
Embed = Callable[[list[str]], Matrix]
CLIENTS = 16


@dataclass
class Peer:
    name: str
    embed: Embed
    seconds: dict[str, list[float]] = field(default_factory=dict)
    fidelity: dict[str, float] = field(default_factory=dict)

    def rate(self, workload: str, tokens: int) -> float:
        return tokens / statistics.median(self.seconds[workload])


def normalized(vectors: Matrix) -> npt.NDArray[np.float64]:
    v = np.asarray(vectors, dtype=np.float64)
    out: npt.NDArray[np.float64] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def sentence_transformers_paths() -> list[Peer]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(packaged_default_weights()), device="cpu")
    # The model card's default is 256: longer chunks would be truncated, unlike ours (512).
    model.max_seq_length = 512

    def encoder(batch: int) -> Embed:
        def embed(texts: list[str]) -> Matrix:
            out: Matrix = model.encode(texts, batch_size=batch, convert_to_numpy=True)
            return out

        return embed

    return [Peer(f"sentence-transformers, batch {b}", encoder(b)) for b in (8, 32)]


def engine_path(stack: ExitStack, tokenizer: LlamaTokenizer) -> Peer:
    """ragprep's BatchEngine as the server builds it, texts tokenized here, one event loop."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(storage_dir=Path(tmp), models_dir=MODELS, prepare_default_model=False)
        catalog = load_catalog(settings)
    stack.callback(catalog.stop)
    model = catalog.get(None)
    engine: BatchEngine = model.engine

    def embed(texts: list[str]) -> Matrix:
        sequences = [model.tokenizer.tokenize(t) for t in texts]
        return asyncio.run(engine.embed(sequences))

    workers = engine.workers
    threads = getattr(engine.embedders[0], "threads", "?")
    layout = f"{model.backend} {model.precision}, {workers} workers x {threads} threads"
    return Peer(f"ragprep engine ({layout})", embed)


async def _post_all(url: str, requests: list[list[str]], clients: int) -> list[list[float]]:
    results: dict[int, list[list[float]]] = {}
    queue = iter(enumerate(requests))

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=600, verify=tls_context()) as http:
            for index, inputs in queue:
                response = await http.post("/v1/embeddings", json={"input": inputs})
                response.raise_for_status()
                data = sorted(response.json()["data"], key=lambda d: d["index"])
                results[index] = [d["embedding"] for d in data]

    await asyncio.gather(*(client() for _ in range(clients)))
    return [row for index in range(len(requests)) for row in results[index]]


def http_embed(url: str, *, clients: int, sizes: tuple[int, int]) -> Embed:
    def embed(texts: list[str]) -> Matrix:
        requests = Workload(texts, [0] * len(texts)).requests(sizes, seed=SEED)
        rows = asyncio.run(_post_all(url, requests, clients))
        return np.array(rows, dtype=np.float32)

    return embed


@contextmanager
def llama_cpp_server(model: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
    options = ["--embedding", "true", "--n_ctx", "512", "--port", str(port)]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen([*command, *options], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.seek(0)
                raise SystemExit(f"llama_cpp.server exited:\n{log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{url}/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def workloads(tokenizer: LlamaTokenizer, short: int, chunks: int) -> dict[str, Workload]:
    # 6 MB of documents: enough distinct chunks of both sizes (~2,400 short, ~1,500 long).
    queries = rag_chunks(tokenizer, count=short, capacities=(60,), megabytes=6.0)
    pool = rag_chunks(tokenizer, count=min(chunks * 4, 1500), capacities=(320, 510), megabytes=6.0)
    picked = [(t, n) for t, n in zip(pool.texts, pool.tokens, strict=True) if 200 <= n <= 500]
    picked = picked[:chunks]
    return {
        "short (~50 tokens)": queries,
        "chunks (200-500 tokens)": Workload([t for t, _ in picked], [n for _, n in picked]),
    }


def run_rounds(paths: list[Peer], work: dict[str, Workload], rounds: int) -> None:
    """Warm up on a few texts, then time every path per round, alternating the order; the
    first round's vectors give each path's fidelity against sentence-transformers (batch 32)."""
    for workload in work.values():
        for path in paths:
            path.embed(workload.texts[:8])
    first: dict[tuple[str, str], npt.NDArray[np.float64]] = {}
    for round_ in range(rounds):
        for name, workload in work.items():
            for path in paths if round_ % 2 == 0 else list(reversed(paths)):
                started = time.perf_counter()
                vectors = path.embed(workload.texts)
                path.seconds.setdefault(name, []).append(time.perf_counter() - started)
                if round_ == 0:
                    first[path.name, name] = normalized(vectors)
        print(f"round {round_ + 1}/{rounds} done", file=sys.stderr, flush=True)
    reference = next(p for p in paths if p.name == "sentence-transformers, batch 32")
    for name in work:
        expected = first[reference.name, name]
        for path in paths:
            got = first[path.name, name]
            path.fidelity[name] = float(np.min(np.sum(got * expected, axis=1)))


def probe_latency(url: str) -> tuple[float, bool]:
    """Seconds for a 1-input request sent while a 2048-input request is embedded."""

    async def probe() -> tuple[float, bool]:
        async with httpx.AsyncClient(base_url=url, timeout=600, verify=tls_context()) as http:
            # ~14 tokens each: ~29k tokens, several seconds of work for the probe to cut into.
            huge_inputs = [f"probe backlog sentence {i} of 2048" for i in range(2048)]
            huge = asyncio.create_task(http.post("/v1/embeddings", json={"input": huge_inputs}))
            await asyncio.sleep(1.0)
            started = time.perf_counter()
            small = await http.post("/v1/embeddings", json={"input": ["a one-input probe"]})
            elapsed = time.perf_counter() - started
            small.raise_for_status()
            in_flight = not huge.done()
            (await huge).raise_for_status()
            return elapsed, in_flight

    return asyncio.run(probe())


def _peers(paths: list[Peer], name: str, tokens: int) -> tuple[Peer, Peer]:
    """The better sentence-transformers batch size, and llama-cpp-python's server."""
    st = [p for p in paths if p.name.startswith("sentence")]
    best = max(st, key=lambda p: p.rate(name, tokens))
    return best, next(p for p in paths if p.name.startswith("llama-cpp-python"))


def report(paths: list[Peer], work: dict[str, Workload], rounds: int, latency: Any) -> None:
    print(f"\nmedian of {rounds} rounds, paths interleaved; tokens include [CLS]/[SEP]\n")
    print("| path | workload | tok/s | vs s-t | vs llama-cpp-python server | min cosine vs s-t |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, workload in work.items():
        tokens = workload.total_tokens
        st, llama = _peers(paths, name, tokens)
        for path in paths:
            rate = path.rate(name, tokens)
            print(
                f"| {path.name} | {name}, {len(workload.texts)} texts, {tokens:,} tokens "
                f"| {rate:,.0f} | {rate / st.rate(name, tokens):.2f}x "
                f"| {rate / llama.rate(name, tokens):.2f}x | {path.fidelity[name]:.6f} |"
            )
    http = next(p for p in paths if p.name.startswith("ragprep HTTP"))
    engine = next(p for p in paths if p.name.startswith("ragprep engine"))
    direct = next(p for p in paths if p.name.startswith("OpenVINO direct"))
    print(
        "\nTargets: HTTP >= 3x sentence-transformers, >= 1.0x OpenVINO direct, >= 8x "
        f"llama-cpp-python server, >= 0.85x the in-process engine, fidelity >= {FLOOR} "
        "(app/registry/fidelity.py), 1-input answered < 1 s during a 2048-input request"
    )
    for name, workload in work.items():
        tokens = workload.total_tokens
        st, llama = _peers(paths, name, tokens)
        rate = http.rate(name, tokens)
        print(
            f"  {name}: HTTP / sentence-transformers {rate / st.rate(name, tokens):.2f}x, "
            f"HTTP / OpenVINO direct {rate / direct.rate(name, tokens):.2f}x, "
            f"HTTP / llama-cpp-python server {rate / llama.rate(name, tokens):.2f}x, "
            f"HTTP / in-process {rate / engine.rate(name, tokens):.2f}x, "
            f"min cosine {http.fidelity[name]:.6f}"
        )
    seconds, in_flight = latency
    state = "the big one still in flight" if in_flight else "the big one had finished"
    print(f"  1-input request during a 2048-input request: {seconds:.2f} s ({state})")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--short", type=int, default=384, help="short texts per run")
    parser.add_argument("--chunks", type=int, default=96, help="chunk-sized texts per run")
    parser.add_argument("--quick", action="store_true", help="1 round, 64 + 16 texts")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.short, args.chunks = 1, 64, 16
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    settings = Settings()
    gguf = prepare_default(
        MODELS, weight_type=settings.default_weight_type, engine=settings.default_engine
    )
    tokenizer = LlamaTokenizer(gguf.path)
    work = workloads(tokenizer, args.short, args.chunks)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="ragprep-peers-") as tmp:
        server = stack.enter_context(
            live_server(Path(tmp) / "storage", env={"RAGPREP_EMBEDDING_CACHE": "false"})
        )
        wait_healthy(server.url, alive=lambda: server.process.poll() is None, timeout=60)
        llama_url = stack.enter_context(llama_cpp_server(gguf.path))
        paths = [
            engine_path(stack, tokenizer),
            Peer(
                f"ragprep HTTP ({CLIENTS} clients)",
                http_embed(server.url, clients=CLIENTS, sizes=REQUEST_SIZES),
            ),
            *sentence_transformers_paths(),
            Peer("OpenVINO direct (convert_model, defaults)", openvino_direct()),
            Peer("ONNX Runtime (torch.onnx.export)", onnx_runtime()),
            Peer("llama-cpp-python server", http_embed(llama_url, clients=1, sizes=(32, 32))),
        ]
        run_rounds(paths, work, args.rounds)
        latency = probe_latency(server.url)
    report(paths, work, args.rounds, latency)
    print(f"\nweight type {gguf.weight_type} ({gguf.reason})")
    if gguf.engine is not None:
        print(f"engine {gguf.engine.backend} {gguf.engine.precision} ({gguf.engine.reason})")
    print(machine_line(1, load_before))  # ragprep rows name their own workers x threads


if __name__ == "__main__":
    main()
