"""Identical concurrent work runs once: later callers wait for the first and share its outcome."""

from __future__ import annotations

from collections import OrderedDict
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
    that ended between the caller's look and its arrival here has stored the result. A caller
    that took a `ticket()` before its look passes it as `since`, and the look is repeated only
    if a flight for the key ended after it: usually none did, and a database round trip per
    miss is saved (two per new file and model, for its document and its chunks).
    """

    def __init__(self, remembered: int = 4096) -> None:
        self._flights: dict[Hashable, _Flight[T]] = {}
        # When each of the last `remembered` keys' flights ended (a sequence number); for an
        # older key only that it ended at or before `_forgotten`, so its look is repeated.
        self._ended: OrderedDict[Hashable, int] = OrderedDict()
        self._remembered = remembered
        self._sequence = 0
        self._forgotten = 0

    def ticket(self) -> int:
        """Taken before the caller's own look-up; see `run`'s `since`."""
        return self._sequence

    def _ended_since(self, key: Hashable, ticket: int) -> bool:
        ended = self._ended.get(key)
        return (ended if ended is not None else self._forgotten) > ticket

    def _record_end(self, key: Hashable) -> None:
        self._sequence += 1
        self._ended[key] = self._sequence
        self._ended.move_to_end(key)
        while len(self._ended) > self._remembered:
            _, self._forgotten = self._ended.popitem(last=False)

    async def run(
        self,
        key: Hashable,
        work: Callable[[], Awaitable[T]],
        *,
        lookup: Callable[[], Awaitable[T | None]] | None = None,
        since: int | None = None,
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
            found = None
            if lookup is not None and (since is None or self._ended_since(key, since)):
                found = await lookup()
            flight.value = found if found is not None else await work()
            flight.finished = True
            return flight.value
        except Exception as exc:
            flight.error, flight.finished = exc, True
            raise
        finally:
            del self._flights[key]
            self._record_end(key)  # cancelled flights too: one may have stored its result
            flight.done.set()

    def __len__(self) -> int:
        return len(self._flights)
