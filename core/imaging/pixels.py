"""Array helpers shared by the raster and DICOM paths: robust windowing, colour detection, luma."""

from __future__ import annotations

import numpy as np

from core.imaging.types import LUMA_601

#: Percentiles used to window images that carry no window of their own.
ROBUST_PERCENTILES = (0.5, 99.5)
#: Mean chroma (max - min channel, on a 0-1 scale) above which a tile counts as coloured.
COLOR_THRESHOLD = 2.0 / 255.0
_COLOR_GRID = 8
_SAMPLE_SIDE = 512
_PERCENTILE_SAMPLE = 1_000_000


def subsample(arr: np.ndarray, target: int) -> np.ndarray:
    """A strided view of ``arr`` whose rows and columns are at most about ``target``."""
    step = max(1, int(np.ceil(max(arr.shape[0], arr.shape[1]) / target)))
    return arr[::step, ::step]


def robust_window(
    arr: np.ndarray, exclude: float | None = None
) -> tuple[np.ndarray, float, float]:
    """Map ``arr`` to float32 [0, 1] with the 0.5-99.5 percentiles as black and white points.

    Percentiles come from an evenly strided sample of at most about a million pixels,
    leaving out pixels equal to ``exclude`` (a DICOM Pixel Padding Value). When the
    percentiles coincide the full min-max range is used; a constant image becomes all zeros.

    Returns:
        (pixels, low, high): the windowed image and the black and white points used.
    """
    values = np.asarray(arr)
    side = int(np.sqrt(_PERCENTILE_SAMPLE))
    sample = subsample(values, side).astype(np.float64, copy=False)
    sample = sample[np.isfinite(sample)]
    if exclude is not None:
        kept = sample[sample != exclude]
        if kept.size:
            sample = kept
    if sample.size == 0:
        return np.zeros(values.shape, dtype=np.float32), 0.0, 0.0
    low, high = (float(v) for v in np.percentile(sample, ROBUST_PERCENTILES))
    if high <= low:
        low, high = float(sample.min()), float(sample.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.float32), low, high
    return scale_to_unit(values, low, high), low, high


def scale_to_unit(arr: np.ndarray, low: float, high: float) -> np.ndarray:
    """``(arr - low) / (high - low)`` clipped to [0, 1] as float32 (NaN becomes 0).

    ``high`` may be smaller than ``low`` (a decreasing output range); the mapping still
    sends ``low`` to 0 and ``high`` to 1.
    """
    # one working copy, changed in place (a 50-megapixel image has no full-size temporaries)
    out = np.array(arr, dtype=np.float64 if arr.dtype == np.float64 else np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        out -= low
        out /= high - low
    np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    np.clip(out, 0.0, 1.0, out=out)
    return out.astype(np.float32, copy=False)


def is_color(rgb: np.ndarray, full_scale: float) -> bool:
    """True when an (H, W, 3) image's channels differ meaningfully somewhere.

    The image is reduced to about 512 px per side and cut into an 8 x 8 grid; it is colour
    when some tile's mean chroma (max - min channel) exceeds 2/255 of ``full_scale``. A
    grayscale radiograph saved as RGB (even through JPEG) stays below; a coloured arrow or
    label in one region, or a colour photo, goes above.
    """
    small = subsample(rgb, _SAMPLE_SIDE).astype(np.float32)
    chroma = (small.max(axis=2) - small.min(axis=2)) / np.float32(full_scale)
    rows, cols = chroma.shape
    grid_r, grid_c = min(_COLOR_GRID, rows), min(_COLOR_GRID, cols)
    th, tw = rows // grid_r, cols // grid_c
    tiles = chroma[: th * grid_r, : tw * grid_c].reshape(grid_r, th, grid_c, tw).mean(axis=(1, 3))
    return bool(tiles.max() > COLOR_THRESHOLD)


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of an (H, W, 3) float array, as float32."""
    return np.asarray(rgb, dtype=np.float32) @ LUMA_601
