"""The analysis slot pool (core/slots.py): bounded, first come first served, a batch cannot starve a
single film, waiters learn their place, and a waiter that gives up frees its place."""

from __future__ import annotations

import threading
import time

import pytest

from core.slots import FairSlots, SlotTimeout, default_size


def _started(pool: FairSlots, waiting: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while pool.stats().waiting < waiting:
        assert time.monotonic() < deadline, pool.stats()
        time.sleep(0.005)


def test_no_more_than_size_run_at_once_and_all_are_served() -> None:
    pool = FairSlots(2)
    running, peak, lock = [0], [0], threading.Lock()

    def work() -> None:
        with pool.acquire():
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.03)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(10)
    assert peak[0] == 2 and pool.stats().served == 8 and pool.stats().busy == 0


def test_waiters_are_served_in_arrival_order_and_told_their_place() -> None:
    pool = FairSlots(1)
    order: list[str] = []
    places: dict[str, list[int]] = {"b": [], "c": []}
    release = threading.Event()

    def holder() -> None:
        with pool.acquire():
            release.wait(5)

    def waiter(name: str) -> None:
        with pool.acquire(on_wait=places[name].append, poll=0.01):
            order.append(name)

    first = threading.Thread(target=holder)
    first.start()
    while pool.stats().busy == 0:
        time.sleep(0.005)
    b = threading.Thread(target=waiter, args=("b",))
    b.start()
    _started(pool, 1)
    c = threading.Thread(target=waiter, args=("c",))
    c.start()
    _started(pool, 2)
    release.set()
    for th in (first, b, c):
        th.join(5)
    assert order == ["b", "c"]
    assert places["b"] == [0] and places["c"][0] == 1  # then 0, unless b was done before c looked again
    assert places["c"] == sorted(places["c"], reverse=True)


def test_a_batch_of_films_does_not_starve_a_single_film() -> None:
    """One person analyses 6 films (a slot per film); another arrives after the first has started:
    their one film runs before the batch's third."""
    pool = FairSlots(1)
    done: list[str] = []
    first_started = threading.Event()

    def batch() -> None:
        for i in range(6):
            with pool.acquire(poll=0.01):
                first_started.set()
                time.sleep(0.03)
                done.append(f"batch-{i}")

    def single() -> None:
        first_started.wait(5)
        with pool.acquire(poll=0.01):
            done.append("single")

    threads = [threading.Thread(target=batch), threading.Thread(target=single)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(10)
    assert done.index("single") <= 2, done


def test_a_waiter_that_gives_up_frees_its_place() -> None:
    pool = FairSlots(1)
    with pool.acquire():
        with pytest.raises(SlotTimeout):
            with pool.acquire(timeout=0.05, poll=0.01):
                pass  # pragma: no cover - never reached
        assert pool.stats().waiting == 0
    with pool.acquire(timeout=0.5) as waited:  # free again at once
        assert waited < 0.5
    with pytest.raises(ValueError):
        FairSlots(0)


def test_the_default_size_reads_the_setting() -> None:
    assert default_size({"DRDC_ANALYSIS_SLOTS": "3"}) == 3
    assert default_size({"DRDC_ANALYSIS_SLOTS": "zero"}) >= 1
    assert default_size({}) >= 1
