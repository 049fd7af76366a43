"""Load time of ``core.imaging.load_image`` (bytes already in memory -> ImageInput).

Inputs: the real SIIM DICOM (1024 x 1024 JPEG-baseline), a 512 px NIH PNG and the 2373 px
COVID JPEG from ../shared/data, and a 12-megapixel colour JPEG built in memory. Prints the
median and minimum of several runs per input.

    python -m bench.bench_imaging [--runs 7]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.imaging import Limits, load_image  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def built_12mp_jpeg() -> bytes:
    """A 4000 x 3000 colour photo-like JPEG (smooth gradients + noise, quality 90)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:3000, 0:4000].astype(np.float32)
    rgb = np.stack([xx / 4000 * 255, yy / 3000 * 255, 128 + 60 * np.sin(xx / 50) * np.cos(yy / 70)], axis=2)
    rgb += rng.normal(0, 6, rgb.shape).astype(np.float32)
    buf = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def inputs() -> list[tuple[str, bytes, str]]:
    """(label, bytes, file name) for every input that exists on this machine."""
    items: list[tuple[str, bytes, str]] = []
    real = [
        ("DICOM 1024px JPEG-baseline (SIIM)", SHARED / "dicom" / "siim_pneumothorax_sample.dcm"),
        ("PNG 512px gray (NIH)", SHARED / "cxr" / "samples" / "00000001_000.png"),
        ("JPEG 2373px (COVID sample)", SHARED / "cxr" / "samples" / "covid-19-pneumonia-58-prior.jpg"),
    ]
    for label, path in real:
        if path.is_file():
            items.append((label, path.read_bytes(), path.name))
        else:
            print(f"(skipped {label}: {path} is absent)")
    items.append(("JPEG 12 MP colour (built)", built_12mp_jpeg(), "photo.jpg"))
    return items


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    limits = Limits()
    rows = []
    for label, data, name in inputs():
        load_image(data, name, limits)  # warm-up (imports, plugin discovery)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            img = load_image(data, name, limits)
            times.append((time.perf_counter() - start) * 1000)
        shape = "x".join(str(s) for s in img.pixels.shape)
        rows.append((label, len(data) / 1024, shape, img.is_color, statistics.median(times), min(times)))

    print(f"load_image, {args.runs} runs each (ms)")
    print(f"{'input':36} {'KiB':>8} {'output':>13} {'color':>6} {'median':>8} {'min':>8}")
    for label, kib, shape, color, median, best in rows:
        print(f"{label:36} {kib:8.0f} {shape:>13} {color!s:>6} {median:8.1f} {best:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
