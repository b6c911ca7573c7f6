"""bench_ingest --by-thread: CPU seconds land on the thread kind that spent them."""

from __future__ import annotations

import threading
import time

from benchmarks.thread_cpu import ENDED, ThreadCpu, _kind


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_busy_thread_is_counted_under_its_name_without_its_number() -> None:
    with ThreadCpu(every=0.05).measuring() as spent:
        worker = threading.Thread(target=_spin, args=(0.4,), name="busy-worker-7")
        worker.start()
        worker.join()  # ended before the block: counted up to its last sample
        time.sleep(0.1)
    assert 0.2 <= spent["busy-worker"] <= 0.6, spent
    assert spent.get("MainThread", 0.0) < 0.2, spent
    assert "thread-cpu" not in spent  # the poller's own work is left out


def test_thread_names_fold_their_numbers() -> None:
    assert _kind("Thread-3 (_connection_worker_thread)") == "Thread (_connection_worker_thread)"
    assert _kind("embed-all-MiniLM-L6-v2-1") == "embed-all-MiniLM-L6-v2"
    assert _kind("ThreadPoolExecutor-0_1") == "ThreadPoolExecutor"
    assert _kind("AnyIO worker thread") == "AnyIO worker thread"


def test_a_thread_no_sample_saw_is_still_counted() -> None:
    cpu = ThreadCpu(every=60.0)  # no sample between the block's first and last
    with cpu.measuring() as spent:
        worker = threading.Thread(target=_spin, args=(0.3,), name="short-lived")
        worker.start()
        worker.join()
        time.sleep(0.2)  # join returns before the OS thread is gone from /proc/self/task
    assert "short-lived" not in spent
    assert 0.2 <= spent[ENDED] <= 0.5, spent
    with cpu.measuring() as again:  # the same instance measures a second block
        _spin(0.2)
    assert 0.15 <= again["MainThread"] <= 0.4, again
