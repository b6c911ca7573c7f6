"""Embedding throughput: llama-cpp-python's own Llama.embed, our engine, and the HTTP service.

Run from the repository root:

    python -m benchmarks.bench_embeddings [--texts 400] [--repeat 5] [--threads 0]
        [--budgets 512 1024 2048 4096] [--packs 128 256 384] [--quick]

Every path embeds the same chunks (benchmarks/corpus.py), text in and vectors out, in one
process. Rates are model tokens per second with [CLS] and [SEP] (what usage.prompt_tokens
counts), the median of --repeat timed runs after one warm-up on a few texts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import llama_cpp
import numpy as np
import uvicorn
from tqdm import tqdm

from app.config import Settings
from app.engine.llama import LlamaEmbedder, LlamaTokenizer
from app.main import create_app
from benchmarks.corpus import Workload, rag_chunks
from benchmarks.live import tls_context, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "models" / "all-MiniLM-L6-v2.gguf"
MAX_INPUTS = 2048  # the service's default per-request limit
CLIENTS = 16
REQUEST_SIZES = (8, 32)
WARMUP_TEXTS = 32
SEED = 1234
COLUMNS = (
    "Path",
    "batch_tokens (n_ubatch)",
    "Pack",
    "tok/s",
    "Range",
    "Others' CPU",
    "vs baseline",
)

Runner = Callable[[Workload], int]  # embeds the workload, returns the tokens it was billed


@dataclass
class Case:
    """One configuration to time: a path at a budget, and the runner that embeds a workload."""

    path: str
    budget: int
    pack: str
    run: Runner
    seconds: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)  # CPU cores other processes used meanwhile

    def rate(self, tokens: int) -> float:
        return tokens / statistics.median(self.seconds)


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class Bench:
    """Times cases round-robin, so a noisy neighbour slows every case alike, not just one."""

    work: Workload
    repeat: int
    bar: tqdm  # type: ignore[type-arg]

    def time(self, cases: Sequence[Case]) -> None:
        for case in cases:
            self.bar.set_description(f"warm-up {case.path} @ {case.budget}")
            case.run(self.work.head(WARMUP_TEXTS))
        for _ in range(self.repeat):
            for case in cases:
                self.bar.set_description(f"{case.path} @ {case.budget}/{case.pack}")
                self._time_once(case)
                self.bar.update()

    def _time_once(self, case: Case) -> None:
        busy, own, started = _busy_seconds(), _own_seconds(), time.perf_counter()
        billed = case.run(self.work)
        elapsed = time.perf_counter() - started
        others = (_busy_seconds() - busy) - (_own_seconds() - own)
        case.seconds.append(elapsed)
        case.others.append(max(others, 0.0) / elapsed)
        if billed != self.work.total_tokens:
            raise SystemExit(f"{case.path}: billed {billed} tokens, not {self.work.total_tokens}")


def baseline_runner(model: Path) -> tuple[Runner, Callable[[], None]]:
    """llama-cpp-python as shipped: Llama.embed packs texts in input order into n_batch=512."""
    llm = llama_cpp.Llama(model_path=str(model), embedding=True, n_ctx=512, verbose=False)

    def run(work: Workload) -> int:
        _, count = llm.embed(work.texts, return_count=True)
        return int(count)

    return run, llm.close


def pack(costs: Sequence[int], budget: int, max_sequences: int) -> list[list[int]]:
    """Indices shortest first, grouped under `budget` tokens, as BatchEngine._pack does."""
    groups: list[list[int]] = [[]]
    used = 0
    for index in sorted(range(len(costs)), key=costs.__getitem__):
        if groups[-1] and (used + costs[index] > budget or len(groups[-1]) >= max_sequences):
            groups.append([])
            used = 0
        groups[-1].append(index)
        used += costs[index]
    return groups


def tuned_runner(embedder: LlamaEmbedder, budget: int) -> Runner:
    """Our engine without HTTP: tokenize, sort by length, pack under `budget`, decode."""
    tokenizer, extra = embedder.tokenizer, embedder.special_tokens

    def run(work: Workload) -> int:
        sequences = [tokenizer.tokenize(text) for text in work.texts]
        costs = [len(tokens) + extra for tokens in sequences]
        vectors = np.empty((len(sequences), embedder.dimensions), dtype=np.float32)
        for group in pack(costs, budget, embedder.max_sequences):
            vectors[group] = embedder.embed_batch([sequences[i] for i in group])
        return sum(costs)

    return run


@contextmanager
def serve(model: Path, *, budget: int, threads: int) -> Iterator[str]:
    """The real app under uvicorn on a free 127.0.0.1 port, in a background thread."""
    with tempfile.TemporaryDirectory(prefix="ragprep-bench-") as tmp:
        models = Path(tmp) / "models"
        models.mkdir()
        (models / model.name).symlink_to(model.resolve())
        settings = Settings(
            storage_dir=Path(tmp) / "storage",
            models_dir=models,
            prepare_default_model=False,
            batch_tokens=budget,
            threads=threads,
            embedding_cache=False,  # every run must embed; repeats would otherwise be cache hits
        )
        server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
        sock = socket.create_server(("127.0.0.1", 0))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            wait_healthy(url, alive=thread.is_alive, timeout=120.0)
            yield url
        finally:
            server.should_exit = True
            thread.join(timeout=60)
            sock.close()


def _billed(response: httpx.Response, inputs: int) -> int:
    response.raise_for_status()
    body = response.json()
    if len(body["data"]) != inputs:
        raise SystemExit(f"asked for {inputs} vectors, got {len(body['data'])}")
    return int(body["usage"]["prompt_tokens"])


def http_large_runner(url: str) -> Runner:
    """One client sending everything in as few requests as the service allows."""

    def run(work: Workload) -> int:
        billed = 0
        with httpx.Client(base_url=url, timeout=600, verify=tls_context()) as client:
            for start in range(0, len(work.texts), MAX_INPUTS):
                inputs = work.texts[start : start + MAX_INPUTS]
                billed += _billed(
                    client.post("/v1/embeddings", json={"input": inputs}), len(inputs)
                )
        return billed

    return run


def http_clients_runner(url: str, clients: int = CLIENTS) -> Runner:
    """`clients` concurrent clients, each sending requests of 8-32 texts until none are left."""

    def run(work: Workload) -> int:
        requests = work.requests(REQUEST_SIZES, seed=SEED)
        return asyncio.run(_send_all(url, iter(requests), clients))

    return run


async def _send_all(url: str, requests: Iterator[list[str]], clients: int) -> int:
    async def client() -> int:
        billed = 0
        async with httpx.AsyncClient(base_url=url, timeout=600, verify=tls_context()) as http:
            for inputs in requests:  # shared: each request goes to whichever client is free
                response = await http.post("/v1/embeddings", json={"input": inputs})
                billed += _billed(response, len(inputs))
        return billed

    return sum(await asyncio.gather(*(client() for _ in range(clients))))


def tuned_cases(
    stack: ExitStack, model: Path, tokenizer: LlamaTokenizer, args: argparse.Namespace
) -> list[Case]:
    cases: list[Case] = []
    for budget in args.budgets:
        embedder = LlamaEmbedder(
            model, tokenizer=tokenizer, threads=args.threads, batch_tokens=budget
        )
        stack.callback(embedder.close)
        size = embedder.batch_tokens
        cases.append(Case("tuned", size, "= budget", tuned_runner(embedder, budget)))
        if budget == min(args.budgets):
            for small in (p for p in args.packs if p < size):
                cases.append(Case("tuned", size, str(small), tuned_runner(embedder, small)))
    return cases


def http_cases(stack: ExitStack, model: Path, budget: int, threads: int) -> list[Case]:
    url = stack.enter_context(serve(model, budget=budget, threads=threads))
    return [
        Case("HTTP, 1 large request", budget, "= budget", http_large_runner(url)),
        Case(f"HTTP, {CLIENTS} clients", budget, "= budget", http_clients_runner(url)),
    ]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_line(threads: int, load_before: str) -> str:
    names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    cpu = names[0] if names else platform.processor() or "unknown CPU"
    load_after = _load()
    return (
        f"Machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"llama-cpp-python {llama_cpp.__version__}, engine threads {threads or os.cpu_count()}; "
        f"load average {load_before} before, {load_after} after"
    )


def report(work: Workload, repeat: int, phases: list[list[Case]], machine: str) -> None:
    tokens = work.total_tokens
    print(
        f"\n{len(work.texts)} chunks, {tokens:,} tokens ({min(work.tokens)}-{max(work.tokens)}, "
        f"mean {tokens / len(work.texts):.0f}); median of {repeat} runs, cases interleaved\n"
    )
    baseline = phases[0][0]
    print("| " + " | ".join(COLUMNS) + " |")
    print("|---" + "|---:" * (len(COLUMNS) - 1) + "|")
    for case in (case for phase in phases for case in phase):
        rate = case.rate(tokens)
        spread = f"{tokens / max(case.seconds):,.0f}-{tokens / min(case.seconds):,.0f}"
        print(
            f"| {case.path} | {case.budget} | {case.pack} | {rate:,.0f} | {spread} "
            f"| {statistics.mean(case.others):.2f} | {rate / baseline.rate(tokens):.2f}x |"
        )
    print(f"\n{machine}\n")
    best = max((c for c in phases[0] if c.pack == "= budget"), key=lambda c: c.rate(tokens))
    print(f"Best batch_tokens: {best.budget} ({best.rate(tokens):,.0f} tok/s)")
    print(f"tuned/baseline: {best.rate(tokens) / baseline.rate(tokens):.2f}x")
    for phase in phases[1:]:
        tuned = phase[0]
        for case in phase[1:]:
            ratio = case.rate(tokens) / tuned.rate(tokens)
            print(f"{case.path} / tuned @ {tuned.budget}: {ratio:.2f}x")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="GGUF embedding model")
    parser.add_argument("--texts", type=int, default=400, help="chunks to embed per run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per path (median)")
    parser.add_argument("--threads", type=int, default=0, help="engine threads; 0 = all CPUs")
    parser.add_argument("--budgets", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    parser.add_argument(
        "--packs", type=int, nargs="*", default=[128, 256, 384], help="pack budgets below n_ubatch"
    )
    parser.add_argument("--http-budgets", type=int, default=2, help="best budgets to serve")
    parser.add_argument("--quick", action="store_true", help="120 texts, 1 run, 2 budgets")
    args = parser.parse_args(argv)
    if args.quick:
        args.texts, args.repeat, args.budgets, args.packs = 120, 1, [512, 2048], [256]
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    load_before = _load()
    tokenizer = LlamaTokenizer(args.model)
    work = rag_chunks(tokenizer, count=args.texts, seed=SEED)
    small = [p for p in args.packs if p < tokenizer.window]
    http = min(args.http_budgets, len(args.budgets))
    total = (1 + len(args.budgets) + len(small) + 3 * http) * args.repeat
    with ExitStack() as stack:
        bar = stack.enter_context(tqdm(total=total, unit="run", disable=not sys.stderr.isatty()))
        bench = Bench(work, args.repeat, bar)
        # Phase 1: the library's path against ours at every budget and pack size.
        run, close = baseline_runner(args.model)
        stack.callback(close)
        tuned = tuned_cases(stack, args.model, tokenizer, args)
        phases = [[Case("llama-cpp-python Llama.embed", 512, "512, input order", run), *tuned]]
        bench.time(phases[0])
        # Phase 2: the service at the best budgets, interleaved with the same-budget tuned case.
        ranked = sorted(
            (c for c in tuned if c.pack == "= budget"), key=lambda c: c.rate(work.total_tokens)
        )
        for case in reversed(ranked[-http:] if http else []):
            again = Case(case.path, case.budget, case.pack, case.run)
            phases.append([again, *http_cases(stack, args.model, case.budget, args.threads)])
            bench.time(phases[-1])
    report(work, args.repeat, phases, machine_line(args.threads, load_before))


if __name__ == "__main__":
    main()
