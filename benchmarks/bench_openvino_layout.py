"""OpenVINO's two ways to keep every core busy, on the same sub-batches, interleaved:
one infer request per worker thread (what the batch workers do) against one thread feeding an
AsyncInferQueue of as many requests.

    python -m benchmarks.bench_openvino_layout [--rounds 5] [--precision bf16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from app.engine.llama import LlamaTokenizer
from app.engine.openvino import OpenVinoModel, buckets, pad
from app.engine.openvino_runtime import openvino_module
from app.registry.prepare import prepare_default
from benchmarks.bench_embeddings import machine_line
from benchmarks.corpus import rag_chunks
from benchmarks.live import MODELS

Batch = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


def sub_batches(tokenizer: LlamaTokenizer, capacity: int, count: int) -> tuple[list[Batch], int]:
    work = rag_chunks(tokenizer, count=count, capacities=(capacity,), megabytes=3.0)
    rows = [[101, *tokenizer.tokenize(t), 102] for t in work.texts]
    groups = buckets([len(r) for r in rows], budget=512)
    return [pad([rows[i] for i in g]) for g in groups], sum(len(r) for r in rows)


def threads_layout(model: OpenVinoModel, workers: int) -> Callable[[list[Batch]], None]:
    requests = [model.compiled.create_infer_request() for _ in range(workers)]

    def run(batches: list[Batch]) -> None:
        def worker(index: int) -> None:
            for ids, mask in batches[index::workers]:
                requests[index].infer({"input_ids": ids, "attention_mask": mask})

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()

    return run


def async_layout(model: OpenVinoModel, jobs: int) -> Callable[[list[Batch]], None]:
    ov = openvino_module()

    queue = ov.AsyncInferQueue(model.compiled, jobs)

    def run(batches: list[Batch]) -> None:
        for ids, mask in batches:
            queue.start_async({"input_ids": ids, "attention_mask": mask})
        queue.wait_all()

    return run


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--precision", choices=("bf16", "f32"), default="bf16")
    args = parser.parse_args(argv)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    prepared = prepare_default(MODELS)
    tokenizer = LlamaTokenizer(prepared.path)
    cores = os.cpu_count() or 1
    model = OpenVinoModel(
        prepared.path.with_suffix(".xml"),
        precision=args.precision,
        streams=cores,
        threads_per_stream=1,
        cache_dir=None,
    )
    layouts = {
        f"{cores} worker threads x 1 infer request": threads_layout(model, cores),
        f"1 thread, AsyncInferQueue of {cores}": async_layout(model, cores),
    }
    for name, capacity, count in (("short", 60, 384), ("chunks", 480, 96)):
        batches, tokens = sub_batches(tokenizer, capacity, count)
        times: dict[str, list[float]] = {layout: [] for layout in layouts}
        for run in layouts.values():
            run(batches)  # warm-up: shapes prepared
        for round_ in range(args.rounds):
            order = list(layouts.items())
            for layout, run in order if round_ % 2 == 0 else reversed(order):
                started = time.perf_counter()
                run(batches)
                times[layout].append(time.perf_counter() - started)
        for layout, seconds in times.items():
            print(f"{name}: {layout}: {tokens / statistics.median(seconds):,.0f} tokens/s")
    print(f"OpenVINO {args.precision}, {cores} streams x 1 thread")
    print(machine_line(1, load_before))


if __name__ == "__main__":
    main()
