"""Scalp self-check latency on a 12-megapixel photo (target: analysis <= 0.5 s).

Builds a 4000 x 3000 JPEG from a phantom (drawn at 1024 x 768, upscaled, with sensor-like noise),
then times, as medians over several runs:

* decode: ``core.imaging.load_image`` (JPEG -> float32 RGB, EXIF orientation),
* analysis: ``core.scalp.analyse`` (quality gate, downscale to 1024 px, all measurements,
  grades, questionnaire adjustments and care plan) on the decoded pixels,
* the same analysis stage by stage.

    python -m bench.bench_scalp [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

from core.imaging import load_image
from core.scalp import Questionnaire, analyse, check_quality, measure
from core.scalp.measure import downscale
from core.scalp.synthetic import encode_jpeg, make_phantom

ANSWERS = {"age_group": "30s", "gender": "female", "shampoo_frequency": "daily", "perm_cycle": "never",
           "dye_cycle": "every_3_6_months", "hair_state": ["oily", "itchy"]}


def build_photo(width: int = 4000, height: int = 3000) -> bytes:
    base = make_phantom(seed=11, hairs=24, pustules=2, follicle_a_star=24.0).rgb
    big = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).normal(0.0, 0.01, big.shape).astype(np.float32)
    return encode_jpeg(np.clip(big + noise, 0.0, 1.0), quality=90)


def median_time(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    data = build_photo()
    image = load_image(data, "photo.jpg")
    rgb = image.rgb()
    answers = Questionnaire.from_form(ANSWERS)
    analyse(rgb, answers)  # warm-up (first calls allocate)

    decode = median_time(lambda: load_image(data, "photo.jpg"), args.runs)
    total = median_time(lambda: analyse(rgb, answers), args.runs)
    small, _ = downscale(rgb)
    stages = {
        "downscale to 1024 px": median_time(lambda: downscale(rgb), args.runs),
        "quality gate (1024 px)": median_time(lambda: check_quality(small, rgb.shape[:2]), args.runs),
        "measurements (1024 px)": median_time(lambda: measure(small), args.runs),
    }
    result = analyse(rgb, answers)
    print(f"photo: {image.width} x {image.height} px ({image.width * image.height / 1e6:.1f} MP), "
          f"JPEG {len(data) / 1e6:.1f} MB; {args.runs} runs, medians")
    print(f"decode (core.imaging.load_image): {decode:.3f} s")
    print(f"analysis (core.scalp.analyse):    {total:.3f} s   target <= 0.5 s: {'OK' if total <= 0.5 else 'SLOW'}")
    for name, value in stages.items():
        print(f"  {name:28s} {value:.3f} s")
    print("grades:", {g.condition: g.final_grade for g in result.grades},
          f"hairs {result.measurements.hair_count}, width {result.measurements.hair_width_px:.1f} px")


if __name__ == "__main__":
    main()
