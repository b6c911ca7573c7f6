"""Identical concurrent work runs once and every caller gets its outcome."""

from __future__ import annotations

import anyio
import pytest

from app.services.concurrency.single_flight import SingleFlight


async def test_concurrent_callers_share_one_run() -> None:
    flights: SingleFlight[int] = SingleFlight()
    runs = 0
    results: list[int] = []

    async def work() -> int:
        nonlocal runs
        runs += 1
        await anyio.sleep(0.05)
        return 42

    async def call() -> None:
        results.append(await flights.run("key", work))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(call)
    assert runs == 1 and results == [42] * 5
    assert len(flights) == 0  # nothing remembered once done
    assert await flights.run("key", work) == 42 and runs == 2


async def test_different_keys_run_separately() -> None:
    flights: SingleFlight[str] = SingleFlight()
    seen: list[str] = []

    async def work(key: str) -> str:
        seen.append(key)
        await anyio.sleep(0.01)
        return key

    async with anyio.create_task_group() as group:
        for key in ("a", "b"):
            group.start_soon(flights.run, key, lambda key=key: work(key))
    assert sorted(seen) == ["a", "b"]


async def test_an_error_reaches_every_waiting_caller() -> None:
    flights: SingleFlight[int] = SingleFlight()
    runs = 0
    errors: list[str] = []

    async def work() -> int:
        nonlocal runs
        runs += 1
        await anyio.sleep(0.05)
        raise ValueError("corrupt")

    async def call() -> None:
        with pytest.raises(ValueError, match="corrupt") as info:
            await flights.run("key", work)
        errors.append(str(info.value))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(call)
    assert runs == 1 and errors == ["corrupt"] * 3


async def test_a_cancelled_leader_hands_the_work_to_a_waiter() -> None:
    flights: SingleFlight[int] = SingleFlight()
    started = anyio.Event()
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        started.set()
        await anyio.sleep(0.1)
        return runs

    async with anyio.create_task_group() as group:
        leader = anyio.CancelScope()

        async def lead() -> None:
            with leader:
                await flights.run("key", work)

        group.start_soon(lead)
        await started.wait()
        follower: list[int] = []

        async def follow() -> None:
            follower.append(await flights.run("key", work))

        group.start_soon(follow)
        await anyio.sleep(0.01)
        leader.cancel()
    assert follower == [2]


class _Store:
    """A stored result and a count of look-ups, as the document and chunk stores have."""

    def __init__(self) -> None:
        self.value: int | None = None
        self.looks = 0

    async def look(self) -> int | None:
        self.looks += 1
        return self.value

    async def work(self) -> int:
        self.value = 7
        return 7


async def test_the_look_is_not_repeated_when_no_flight_ended_since_the_ticket() -> None:
    flights: SingleFlight[int] = SingleFlight()
    store = _Store()
    ticket = flights.ticket()
    assert await store.look() is None
    assert await flights.run("key", store.work, lookup=store.look, since=ticket) == 7
    assert store.looks == 1  # the caller's own, not repeated


async def test_the_look_is_repeated_when_a_flight_for_the_key_ended_after_the_ticket() -> None:
    flights: SingleFlight[int] = SingleFlight()
    store = _Store()
    ticket = flights.ticket()
    assert await store.look() is None  # missed: the other caller's flight has not ended yet
    await flights.run("key", store.work)  # ...and now it has, storing its result
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        return 8

    assert await flights.run("key", work, lookup=store.look, since=ticket) == 7
    assert runs == 0 and store.looks == 2


async def test_another_keys_flight_does_not_repeat_the_look() -> None:
    flights: SingleFlight[int] = SingleFlight()
    store = _Store()
    ticket = flights.ticket()
    await flights.run("other", store.work)
    store.value = None
    assert await flights.run("key", store.work, lookup=store.look, since=ticket) == 7
    assert store.looks == 0


async def test_a_forgotten_key_repeats_the_look() -> None:
    flights: SingleFlight[int] = SingleFlight(remembered=1)
    store = _Store()
    ticket = flights.ticket()
    await flights.run("key", store.work)
    await flights.run("other", store.work)  # pushes "key" out of what is remembered
    assert await flights.run("key", store.work, lookup=store.look, since=ticket) == 7
    assert store.looks == 1


async def test_a_cancelled_flight_counts_as_ended() -> None:
    flights: SingleFlight[int] = SingleFlight()
    store = _Store()
    ticket = flights.ticket()

    async def stored_then_cancelled() -> int:
        store.value = 7  # it stored its result, then its client went away
        raise anyio.get_cancelled_exc_class()

    with pytest.raises(anyio.get_cancelled_exc_class()):
        await flights.run("key", stored_then_cancelled)
    assert await flights.run("key", store.work, lookup=store.look, since=ticket) == 7
    assert store.looks == 1
