"""Run the product benchmarks one after another and print their figures.

    python -m bench                  # every product bench, quick settings (what `make bench` runs)
    python -m bench --full           # every product bench with its own defaults (the README's figures)
    python -m bench chest board      # only those whose name contains one of the words
    python -m bench research [word]  # settled experiments (bench/research/), reported in docs/

Product benches measure what a user meets (speed, memory, robustness, accuracy of shipped parts).
Research benches answered questions that are settled (which backbone, self-supervised features,
rescaling, the base Gemma's care plans, LLM decode speed); their results and the command that
produced them are in docs/ (see docs/research.md). A bench whose optional part is absent (the
shared data, the converted Gemma) prints why and exits 0.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# `make bench`: every figure in minutes, not hours. The README's figures come from `--full`.
QUICK: dict[str, list[str]] = {
    "bench_audit": ["--records", "50000", "--repeats", "200"],
    "bench_board": ["--posts", "2000", "--repeats", "3"],
    "bench_fuzz": ["--n", "300", "--progress", "0"],
    "bench_imaging": ["--runs", "3"],
    "bench_load": ["--films", "3", "--replicas", "1"],
    "bench_page": ["--films", "3"],
    "bench_prefix": ["--n", "4"],
    "bench_scalp": ["--runs", "3"],
    "bench_shoulder": ["--repeats", "10"],
    "bench_startup": ["--runs", "1"],
}


def scripts(research: bool = False) -> list[Path]:
    """The bench scripts: product ones in bench/, or the research ones in bench/research/."""
    return sorted((HERE / "research" if research else HERE).glob("bench_*.py"))


def main(argv: list[str]) -> int:
    full = "--full" in argv
    words = [a for a in argv if a != "--full"]
    research = bool(words) and words[0] == "research"
    if research:
        words = words[1:]
    chosen = [s for s in scripts(research) if not words or any(word in s.stem for word in words)]
    if not chosen:
        print(f"no bench matches {words}; product: {[s.stem for s in scripts()]}, "
              f"research: {[s.stem for s in scripts(True)]}")
        return 2
    package = "bench.research" if research else "bench"
    failed = 0
    for script in chosen:
        extra = [] if full or research else QUICK.get(script.stem, [])
        print(f"\n=== {script.stem} {' '.join(extra)}".rstrip() + " ===", flush=True)
        start = time.perf_counter()
        rc = subprocess.call([sys.executable, "-m", f"{package}.{script.stem}", *extra], cwd=HERE.parent)
        print(f"--- {script.stem}: exit {rc}, {time.perf_counter() - start:.1f} s", flush=True)
        failed += rc != 0
    if not full and not research:
        print("\nquick settings (see bench/__main__.py QUICK); the README's figures: python -m bench --full")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
