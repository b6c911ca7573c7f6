"""What the `ragprep` commands do to be ready sooner: the engine's compilation started on a
thread before the rest of the service is imported, and imports run with the collector paused.

Measured on the 2-core AMD EPYC: importing the web app takes about 0.75 s, importing OpenVINO
and compiling the model (from the blob cache) about 0.3 s more. Started first, the second
overlaps the first; and a tenth of the first was the cyclic collector walking the objects the
imports had just made, all of them alive for the life of the process.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.config import Settings

_head_starts: list[threading.Thread] = []
_lock = threading.Lock()


def head_start(settings: Settings) -> None:
    """Import the engine and start compiling what the catalog will load for `settings`
    (`catalog.warm_up`), on a thread, so the caller's own imports overlap it."""

    def run() -> None:
        from app.engine.catalog import warm_up  # leaves anything unusual to the load

        warm_up(settings)

    thread = threading.Thread(target=run, name="engine-head-start", daemon=True)
    with _lock:
        _head_starts.append(thread)
    thread.start()


def settle() -> None:
    """Blocking: wait for head starts in flight. Called before the catalog loads, so none
    registers a compilation after the catalog has taken its model (it would run for nothing
    and be held for the life of the process)."""
    with _lock:
        threads = list(_head_starts)
        _head_starts.clear()
    for thread in threads:
        thread.join()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a block of imports: they allocate hundreds of
    thousands of objects that live as long as the process, and no cycles to collect, so its
    passes over them are pure cost (0.1 s of the web app's imports, measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
