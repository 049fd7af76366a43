"""Benchmark of the audit trail's count, which the chest page shows on every rerun.

Writes ``--records`` records (default 500,000, about 200 MB) into one trail file, the way a
site's log grew before rotation existed, then prints: the time of the old full-scan count (every
line parsed, as ``count()`` did before), the first ``count()`` (rebuilds the small state file
with one scan), ``count()`` p50/p95 afterwards (no scan: a stat and a tiny read), one
``record()`` (which rotates the oversized file) and ``count()`` after it, and the load average.

    .venv/bin/python -m bench audit
    .venv/bin/python -m bench.bench_audit [--records 500000] [--repeats 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import audit  # noqa: E402
from core.settings import get_settings  # noqa: E402


def _fill(path: Path, records: int) -> None:
    row = {"app_version": audit.APP_VERSION, "feature": "chest", "gate_decision": "accepted", "gate_issues": [],
           "input_sha256": "ab" * 32, "model_name": "xrv-densenet121-res224-all", "model_sha256": "cd" * 32,
           "model_version": "1.0", "n_positive": 2, "n_uncertain": 3, "operating_point": 0.5,
           "overridden": False, "preset": "balanced", "test_model": False, "time": "2026-01-01T00:00:00+00:00"}
    line = json.dumps(row, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for start in range(0, records, 10_000):
            fh.write(line * min(10_000, records - start))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DRDC_DATA_DIR"] = tmp
        path = audit.audit_path(get_settings())
        _fill(path, args.records)
        print(f"trail: {args.records:,} records, {path.stat().st_size / 1e6:.0f} MB in one file")

        start = time.perf_counter()
        scanned = sum(1 for _ in audit.read())
        print(f"full scan (the old count()): {time.perf_counter() - start:.2f} s ({scanned:,} records)")

        start = time.perf_counter()
        first = audit.count()
        print(f"first count() (builds the state file once): {time.perf_counter() - start:.2f} s -> {first:,}")

        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            n = audit.count()
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"count() afterwards: p50 {statistics.median(times):.3f} ms, p95 {p95:.3f} ms "
              f"over {args.repeats} calls -> {n:,}")

        start = time.perf_counter()
        audit.record({"feature": "chest", "input_sha256": "ef" * 32, "preset": "balanced"})
        print(f"record() that rotates the {path.with_suffix('.jsonl.1').stat().st_size / 1e6:.0f} MB file: "
              f"{(time.perf_counter() - start) * 1000:.1f} ms")
        start = time.perf_counter()
        n = audit.count()
        print(f"count() after rotation: {(time.perf_counter() - start) * 1000:.3f} ms -> {n:,}")
        ok = n == args.records + 1 == first + 1
        print(f"counts agree with the scan: {ok}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
