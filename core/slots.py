"""A bounded, first-come-first-served pool of analysis slots shared by every session of one process.

Streamlit runs each browser session's script in its own thread. Without a bound, twenty people
pressing "analyse" at once run twenty model passes at once on two cores: every one of them slow,
memory for twenty sets of activations, and one person's batch of 30 films holding the machine.
With :func:`analysis_slot`:

* at most ``DRDC_ANALYSIS_SLOTS`` analyses run at once in a process (default: one per two CPU
  cores, at least one; each uses ``DRDC_TORCH_THREADS`` threads);
* waiters are served in arrival order, one film at a time: a batch takes a slot per film and joins
  the back of the queue after each, so another person's single film waits for at most one of the
  batch's films, never for the whole batch;
* a waiter is told its place in the queue as it changes (the page shows "waiting, N ahead of you"),
  and may give up (``timeout``), which frees its place at once.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class SlotTimeout(TimeoutError):
    """No slot became free within the waiter's ``timeout``."""


@dataclass(frozen=True)
class SlotStats:
    """How a pool is doing: slots in use, waiters, and totals since it was made."""

    size: int
    busy: int
    waiting: int
    served: int
    waited: int
    max_wait_s: float


class FairSlots:
    """``size`` slots handed out first come, first served (see the module docstring)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a slot pool needs at least one slot")
        self.size = size
        self._cond = threading.Condition()
        self._queue: deque[int] = deque()
        self._busy = 0
        self._tickets = itertools.count()
        self._served = 0
        self._waited = 0
        self._max_wait = 0.0

    @contextmanager
    def acquire(self, on_wait: Callable[[int], None] | None = None, timeout: float | None = None,
                poll: float = 0.25) -> Iterator[float]:
        """Hold one slot for the ``with`` block; yields the seconds spent waiting for it.

        ``on_wait(ahead)`` is called (in the caller's thread) when the caller has to wait, and again
        each time the number of people ahead of it changes: 0 means "next".

        Raises:
            SlotTimeout: no slot within ``timeout`` seconds (the place in the queue is given up).
        """
        start = time.monotonic()
        ticket = next(self._tickets)
        told: int | None = None
        with self._cond:
            self._queue.append(ticket)
            try:
                while not (self._busy < self.size and self._queue[0] == ticket):
                    ahead = self._queue.index(ticket)
                    if on_wait is not None and ahead != told:
                        told = ahead
                        self._cond.release()
                        try:  # never call back while holding the lock: the callback may draw on a page
                            on_wait(ahead)
                        finally:
                            self._cond.acquire()
                        continue
                    left = None if timeout is None else timeout - (time.monotonic() - start)
                    if left is not None and left <= 0:
                        raise SlotTimeout(f"no analysis slot within {timeout:g} s")
                    self._cond.wait(poll if left is None else min(poll, left))
            except BaseException:
                self._queue.remove(ticket)
                self._cond.notify_all()
                raise
            self._queue.popleft()
            self._busy += 1
            waited = time.monotonic() - start
            self._served += 1
            self._waited += told is not None
            self._max_wait = max(self._max_wait, waited)
            self._cond.notify_all()
        try:
            yield waited
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def stats(self) -> SlotStats:
        with self._cond:
            return SlotStats(self.size, self._busy, len(self._queue), self._served, self._waited, round(self._max_wait, 3))


def default_size(env: dict[str, str] | None = None) -> int:
    """``DRDC_ANALYSIS_SLOTS`` when it is a positive integer, else one slot per two CPU cores (at least 1)."""
    env = os.environ if env is None else env
    try:
        value = int(env.get("DRDC_ANALYSIS_SLOTS", ""))
    except ValueError:
        value = 0
    return value if value > 0 else max(1, (os.cpu_count() or 1) // 2)


_POOL: FairSlots | None = None
_POOL_LOCK = threading.Lock()


def analysis_slots() -> FairSlots:
    """The process's one pool of analysis slots (made on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = FairSlots(default_size())
        return _POOL
