"""CPU seconds by thread of this process over a block of work, for telling the engine's
inference from the service's own work (Linux: /proc/self/task).

Python threads are named by their `threading` name, numbers folded (see `_kind`); threads
Python did not start (OpenVINO's streams, which also compile at start, llama.cpp's) are
"native". Threads that end during the block are counted by kind up to their last sample, taken
every `every` seconds; what no sample saw is reported as ENDED.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TASKS = Path("/proc/self/task")
ENDED = "(threads ended between samples)"


def _cpu_seconds(stat: Path) -> float | None:
    """User plus system CPU seconds from a /proc stat file; None if the thread has ended."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _kind(name: str) -> str:
    """A thread's name without its number: "Thread-3 (_connection_worker_thread)" is
    "Thread (_connection_worker_thread)", "ThreadPoolExecutor-0_1" "ThreadPoolExecutor"."""
    return re.sub(r"[-_ ]?\d+(_\d+)?(?=$| \()", "", name) or name


class ThreadCpu:
    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self._last: dict[str, tuple[str, float]] = {}  # tid -> (kind, CPU seconds)

    def sample(self) -> None:
        names = {str(t.native_id): _kind(t.name) for t in threading.enumerate()}
        for tid in os.listdir(TASKS):
            seconds = _cpu_seconds(TASKS / tid / "stat")
            if seconds is not None:
                kind = names.get(tid) or self._last.get(tid, ("native", 0.0))[0]
                self._last[tid] = (kind, seconds)

    def totals(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for kind, seconds in self._last.values():
            found[kind] = found.get(kind, 0.0) + seconds
        return found

    @contextmanager
    def measuring(self) -> Iterator[dict[str, float]]:
        """Yields a dict filled, when the block ends, with each kind's CPU seconds in it; what
        the process spent in threads no sample saw (short-lived ones, or the last moments of
        ended ones) is under ENDED."""
        process = Path("/proc/self/stat")
        self.sample()
        before, process_before = self.totals(), _cpu_seconds(process) or 0.0
        stop = threading.Event()
        poller = threading.Thread(target=self._poll, args=(stop,), name="thread-cpu", daemon=True)
        poller.start()
        spent: dict[str, float] = {}
        try:
            yield spent
        finally:
            stop.set()
            poller.join()
            self.sample()
            after = self.totals()
            seen = {kind: s - before.get(kind, 0.0) for kind, s in after.items()}
            unseen = (_cpu_seconds(process) or 0.0) - process_before - sum(seen.values())
            seen.pop("thread-cpu", None)
            spent.update(seen)
            if unseen >= 0.05:  # below a few clock ticks it is rounding
                spent[ENDED] = unseen

    def _poll(self, stop: threading.Event) -> None:
        while not stop.wait(self.every):
            self.sample()
