"""What one replica measures about itself, for operators and the load bench (``GET /metrics`` in
``serve.py``): how long people wait for their analyses, measured inside the server.

:func:`analysis_timings` holds the last :data:`KEEP` server-side durations of page runs that analysed
at least one new film: from the run reaching the analysis (waiting for a slot included) to the
page's results built. The browser's own drawing is not in it (it happens on the user's machine).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque

KEEP = 1000


class Timings:
    """A bounded, thread-safe record of durations in seconds."""

    def __init__(self, keep: int = KEEP) -> None:
        self._values: deque[tuple[float, float]] = deque(maxlen=keep)  # (when, seconds)
        self._total = 0
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self._values.append((time.time(), float(seconds)))
            self._total += 1

    def summary(self, since: float | None = None) -> dict[str, float | int | None]:
        """``count`` (ever), ``kept``, and ``p50`` / ``p95`` / ``max`` of the kept ones (None when none);
        with ``since`` (a Unix time), of the kept ones recorded from then on."""
        with self._lock:
            values = sorted(v for when, v in self._values if since is None or when >= since)
            total = self._total
        if not values:
            return {"count": total, "kept": 0, "p50": None, "p95": None, "max": None}
        p95 = statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]
        return {"count": total, "kept": len(values), "p50": round(statistics.median(values), 4),
                "p95": round(p95, 4), "max": round(values[-1], 4)}


_ANALYSES = Timings()


def analysis_timings() -> Timings:
    """The process's record of server-side analysis times (see the module docstring)."""
    return _ANALYSES
