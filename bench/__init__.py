"""Benchmarks: plain scripts that print figures. Run all with `python -m bench`, one with
`python -m bench.bench_startup` (or `python bench/bench_startup.py`)."""

from __future__ import annotations

from typing import Any


def shared_nih_task() -> Any:
    """The NIH 14-finding task on ``../shared/data`` with torch on 2 threads, or ``None`` (and a
    printed reason) when the shared data is not here; the caller then exits 0."""
    import torch

    from core.settings import PROJECT_ROOT
    from core.training.tasks import nih_task

    torch.set_num_threads(2)
    try:
        return nih_task(PROJECT_ROOT.parent / "shared" / "data")
    except FileNotFoundError as err:
        print(f"skipped: the shared NIH data is not here ({err})")
        return None
