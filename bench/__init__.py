"""Benchmarks: plain scripts that print figures. Run all with `python -m bench`, one with
`python -m bench.bench_startup` (or `python bench/bench_startup.py`)."""
