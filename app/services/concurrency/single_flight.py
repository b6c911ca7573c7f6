"""Identical concurrent work runs once: later callers wait for the first and share its outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


@dataclass
class _Flight(Generic[T]):
    done: anyio.Event = field(default_factory=anyio.Event)
    value: T | None = None
    error: BaseException | None = None
    finished: bool = False  # False after `done`: the leader was cancelled, so nothing to share


class SingleFlight(Generic[T]):
    """Per-key deduplication of work in flight, within one event loop (one process).

    Only work in progress is shared, never remembered: callers look for a stored result first,
    and pass that look-up as `lookup` too, which the leader repeats before working: a flight
    that ended between the caller's look and its arrival here has stored the result.
    """

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight[T]] = {}

    async def run(
        self,
        key: Hashable,
        work: Callable[[], Awaitable[T]],
        *,
        lookup: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        while (flight := self._flights.get(key)) is not None:
            await flight.done.wait()
            if flight.finished:
                if flight.error is not None:
                    raise flight.error
                return flight.value  # type: ignore[return-value]  # set with finished
            # The leader was cancelled (its client went away): the next waiter takes over.
        flight = _Flight[T]()
        self._flights[key] = flight
        try:
            found = await lookup() if lookup is not None else None
            flight.value = found if found is not None else await work()
            flight.finished = True
            return flight.value
        except Exception as exc:
            flight.error, flight.finished = exc, True
            raise
        finally:
            del self._flights[key]
            flight.done.set()

    def __len__(self) -> int:
        return len(self._flights)
