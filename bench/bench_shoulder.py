"""Benchmark of the shoulder measurements on synthetic radiograph phantoms.

Prints, per phantom size: time of the automatic edge finding per line (profile sampling + edge
fit; median and p95 over repeated lines), time of a whole level measurement (edges + shaft-tilt
estimate from 7 parallel lines + re-measurement perpendicular to the shaft), and the accuracy of
DTI and combined cortical thickness against the truth. Target: <= 50 ms per line.

    .venv/bin/python bench/bench_shoulder.py [--repeats 40] [--method model|gradient]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.shoulder.edges import find_edges  # noqa: E402
from core.shoulder.measure import measure_level  # noqa: E402
from core.shoulder.phantom import PhantomSpec, render_phantom  # noqa: E402
from core.shoulder.profile import sample_profile  # noqa: E402

CASES = [  # name, outer mm, inner mm, spacing mm, blur px
    ("small 12 mm @0.30", 12.0, 8.0, 0.30, 1.0),
    ("typical 20 mm @0.15", 20.0, 14.0, 0.15, 1.3),
    ("thin cortex 18 mm @0.20", 18.0, 14.0, 0.20, 1.5),
    ("large 26 mm @0.10", 26.0, 16.0, 0.10, 2.0),
    ("CR 22 mm @0.10, 2.5 px blur", 22.0, 15.0, 0.10, 2.5),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--method", choices=["model", "gradient"], default="model")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    all_line: list[float] = []
    print(f"method={args.method}  repeats={args.repeats} lines per case (random tilt within +-20 deg, random offset)")
    print(f"{'case':30s} {'line px':>7s} {'edges ms med':>12s} {'p95':>6s} {'level ms med':>12s} {'p95':>6s}"
          f" {'DTI err % (max)':>15s} {'CCT err mm (max)':>16s}")
    for name, od, idd, sp, blur in CASES:
        side = int(2.4 * od / sp) + 40
        spec = PhantomSpec(shape=(side, side), spacing_mm=sp, outer_d_mm=od, inner_d_mm=idd, blur_px=blur,
                           axis_deg=7.0, seed=1)
        ph = render_phantom(spec)
        t_line, t_level, e_dti, e_cct = [], [], [], []
        length = 0.0
        for _ in range(args.repeats):
            line = ph.line_across(along_mm=float(rng.uniform(-0.3, 0.3) * od), tilt_deg=float(rng.uniform(-20, 20)))
            length = line.length
            t0 = time.perf_counter()
            find_edges(sample_profile(ph.image, line, band_px=5), args.method)
            t_line.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            lvl = measure_level(ph.image, line, (sp, sp), method=args.method)
            t_level.append(time.perf_counter() - t0)
            e_dti.append(abs(lvl.dti / spec.true_dti - 1) * 100)
            e_cct.append(abs(lvl.cct_mm - spec.true_cct_mm))
        all_line += t_line
        ms = np.array(t_line) * 1000
        ml = np.array(t_level) * 1000
        print(f"{name:30s} {length:7.0f} {np.median(ms):12.1f} {np.percentile(ms, 95):6.1f} {np.median(ml):12.1f}"
              f" {np.percentile(ml, 95):6.1f} {np.mean(e_dti):7.2f} ({max(e_dti):4.2f}) {np.mean(e_cct):8.3f} ({max(e_cct):5.3f})")
    allms = np.array(all_line) * 1000
    print(f"ALL edge finding per line: median {np.median(allms):.1f} ms, p95 {np.percentile(allms, 95):.1f} ms"
          f" (target <= 50 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
