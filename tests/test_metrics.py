"""Server-side timings (core/metrics.py): bounded, thread-safe, and their quantiles."""

from __future__ import annotations

import threading

from core.metrics import Timings


def test_quantiles_of_what_was_kept_and_the_count_of_everything() -> None:
    timings = Timings(keep=100)
    assert timings.summary() == {"count": 0, "kept": 0, "p50": None, "p95": None, "max": None}
    for i in range(1, 201):  # 1..200 ms; only the last 100 are kept
        timings.add(i / 1000)
    got = timings.summary()
    assert got["count"] == 200 and got["kept"] == 100
    assert got["p50"] == 0.1505 and got["max"] == 0.2 and 0.19 <= got["p95"] <= 0.2


def test_threads_lose_no_record() -> None:
    timings = Timings(keep=10_000)
    threads = [threading.Thread(target=lambda: [timings.add(0.001) for _ in range(500)]) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert timings.summary()["count"] == 4000 and timings.summary()["kept"] == 4000


def test_a_summary_since_a_moment_leaves_out_what_came_before() -> None:
    import time

    timings = Timings()
    timings.add(9.0)  # a warm-up
    time.sleep(0.01)
    mark = time.time()
    for value in (0.1, 0.2, 0.3):
        timings.add(value)
    got = timings.summary(since=mark)
    assert got["kept"] == 3 and got["max"] == 0.3 and got["p50"] == 0.2 and got["count"] == 4
    assert timings.summary()["max"] == 9.0
