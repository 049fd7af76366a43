"""Smoke run of the hostile-upload bench (`bench/bench_fuzz.py`): a small fuzz section through the
page's path (worker decode, session copy, chest and shoulder gates) ends with exit status 0 and
reports no crash, no uncaught BaseException and no timeout. The full 10,000-upload run and its
figures are in docs/hardening.md."""

from __future__ import annotations

import re
import subprocess
import sys

from core.settings import PROJECT_ROOT

N = 120  # every seed mutated about five times; a few seconds on the 2-core machine
RESULTS = re.compile(r"ok (\d+) / refused (\d+) / crashed (\d+) / uncaught BaseException (\d+) / timed out (\d+)")


def test_a_small_fuzz_run_has_no_crash_and_exits_0() -> None:
    done = subprocess.run(  # noqa: S603 - this interpreter, the project's own bench
        [sys.executable, "-m", "bench.bench_fuzz", "--n", str(N), "--seed", "0", "--sections", "fuzz", "--progress", "0"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert f"fuzz results ({N} uploads" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    [line] = RESULTS.findall(done.stdout)
    ok, refused, crashed, uncaught, timed_out = map(int, line)
    assert (crashed, uncaught, timed_out) == (0, 0, 0), done.stdout[-3000:]
    assert ok + refused == N and ok > 0 and refused > 0  # both paths exercised
    assert "BAD " not in done.stdout
    assert done.returncode == 0, done.stdout[-3000:]
