"""Starter chest models: load time, one-image latency (probabilities + all CAMs) and batch throughput.

    python -m bench research training
"""

from __future__ import annotations

import time

import numpy as np
import torch


def main() -> int:
    from core.chest.starter import load_starter, starter_names
    from core.models.registry import status

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    img = rng.random((512, 512), dtype=np.float32)
    for name in starter_names():
        if not status(name).installed:
            print(f"{name}: not installed, skipped")
            continue
        t0 = time.perf_counter()
        model = load_starter(name)
        load_s = time.perf_counter() - t0
        model.predict_pixels(img)  # warm-up
        t0 = time.perf_counter()
        for _ in range(5):
            model.predict_pixels(img)
        one = (time.perf_counter() - t0) / 5
        batch = [img] * 8
        t0 = time.perf_counter()
        for x in batch:
            model.predict_pixels(x)
        print(f"{name}: load {load_s:.2f} s, one image {one * 1000:.0f} ms (probabilities + {len(model.labels)} CAMs), "
              f"{len(batch) / (time.perf_counter() - t0):.1f} images/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
