"""Lung fields and zones from the geometry of a frontal chest radiograph (no segmentation model).

Method (``template-v1``):

1. *Content box*: rows and columns that are not uniform padding (standard deviation > 0.02), so
   black borders and letterboxing do not shift the estimate.
2. *Midline*: the brightest column (spine and mediastinum) of the smoothed column profile of the
   central 20-80 % of rows, searched in the central 40-60 % of columns.
3. *Lung boxes*: fixed fractions of the content box, placed relative to that midline. The fractions
   are the mean ieee8023 lung boxes (``lung_boxes_xywh`` in ``cxr/covid/metadata.csv``) of the
   even-numbered rows, expressed in the same frame; the odd rows are held out for validation.
4. *Zones*: each lung box is split into equal thirds from apex to base: upper, middle and lower
   zone (the radiological zones follow the anterior ribs; thirds of the lung height are the usual
   approximation when ribs are not traced).

Held-out validation (302 images, 604 lungs; ``bench/bench_chest.py zones``): mean IoU 0.73
(median 0.73), 84 % of each true lung box covered, 86 % of each estimated box inside the true box.

Edge margin: a point closer to an estimated box's edge than the estimate's typical error cannot be
placed in or out of the lung with confidence. :data:`EDGE_MARGIN` is the median distance between an
estimated and the annotated edge on the template (even) rows, as a fraction of the annotated box's
width (left/right edges) and height (top/bottom edges); :meth:`LungFields.in_core` is "deeper than
that inside a lung box".

Side: on a PA/AP film as displayed, the **patient's right is on the image's left**; ``right``
below always means the patient's right. A film displayed mirrored would swap the sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Side = Literal["right", "left"]
Level = Literal["upper", "middle", "lower"]

#: (dx from midline, y, width, height) in content-box fractions; [patient right, patient left].
TEMPLATE: tuple[tuple[float, float, float, float], ...] = (
    (-0.4383, 0.0886, 0.4022, 0.7433),
    (0.0131, 0.0887, 0.3994, 0.7618),
)
METHOD = "template-v1"
#: Median |estimated - annotated| lung-box edge distance on the template rows (fractions of the box's
#: width, height); measured with ``bench/bench_chest.py zones`` (2026-12-07: 0.061, 0.070).
EDGE_MARGIN: tuple[float, float] = (0.061, 0.070)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in image pixels (x, y = top-left corner)."""

    x: float
    y: float
    w: float
    h: float

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px <= self.x + self.w and self.y <= py <= self.y + self.h

    def iou(self, other: Box) -> float:
        inter = self.intersection(other)
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0

    def intersection(self, other: Box) -> float:
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        return ix * iy

    def as_list(self) -> list[float]:
        return [round(self.x, 1), round(self.y, 1), round(self.w, 1), round(self.h, 1)]


@dataclass(frozen=True)
class LungFields:
    """Estimated lung boxes (patient right = image left) and the geometry behind them."""

    right: Box
    left: Box
    midline_x: float
    content: Box
    method: str = METHOD

    def side_of(self, px: float, py: float) -> Side | None:
        """Which lung box holds the point (None: outside both)."""
        if self.right.contains(px, py):
            return "right"
        if self.left.contains(px, py):
            return "left"
        return None

    def level_of(self, side: Side, py: float) -> Level:
        """Upper / middle / lower third of that lung's height (clamped)."""
        box = self.right if side == "right" else self.left
        frac = (py - box.y) / box.h if box.h > 0 else 0.5
        return "upper" if frac < 1 / 3 else ("middle" if frac < 2 / 3 else "lower")

    def inside(self, px: float, py: float) -> bool:
        return self.side_of(px, py) is not None

    def in_core(self, px: float, py: float, margin: tuple[float, float] = EDGE_MARGIN) -> bool:
        """Whether (px, py) lies deeper inside a lung box than the estimate's typical edge error.

        ``margin``: (fraction of the box width, fraction of its height) kept clear of each edge.
        """
        mx, my = margin
        return any(
            b.x + mx * b.w <= px <= b.x + b.w - mx * b.w and b.y + my * b.h <= py <= b.y + b.h - my * b.h
            for b in (self.right, self.left)
        )

    def in_region(self, region: str, px: float, py: float) -> bool:
        """Whether a heatmap peak at (px, py) lies where a finding of ``region`` can be.

        ``lung`` / ``pleura`` / ``bone``: inside a lung box (pleura and bone: the box widened by 15 %
        of its width, for costophrenic angles and ribs); ``heart``: the medial halves of the two lung
        boxes, lower 55 % of their height; ``mediastinum``: the medial halves, full height;
        ``diaphragm``: the lung boxes' lower third and 15 % of their height below.
        """
        r, left = self.right, self.left
        top, bottom = min(r.y, left.y), max(r.y + r.h, left.y + left.h)
        height = bottom - top
        medial = (r.x + 0.5 * r.w, left.x + 0.5 * left.w)
        if region == "heart":
            return medial[0] <= px <= medial[1] and top + 0.45 * height <= py <= bottom
        if region == "mediastinum":
            return medial[0] <= px <= medial[1] and top <= py <= bottom
        if region == "diaphragm":
            return r.x <= px <= left.x + left.w and top + (2 / 3) * height <= py <= bottom + 0.15 * height
        if region in ("pleura", "bone"):
            pad = 0.15 * max(r.w, left.w)
            return any(b.x - pad <= px <= b.x + b.w + pad and b.y - pad <= py <= b.y + b.h + pad for b in (r, left))
        return self.inside(px, py)


@dataclass(frozen=True)
class Location:
    """Where a finding's heatmap points.

    ``side``: ``right``/``left``/``bilateral`` (patient sides) or None when the hot region is
    outside both lungs; ``level``: zone of the dominant hot region; ``peak``: (x, y) of the
    heatmap maximum in image pixels; ``peak_in_lung``: whether that peak lies in a lung box.
    """

    side: Literal["right", "left", "bilateral"] | None
    level: Level | None
    peak: tuple[float, float]
    peak_in_lung: bool


def content_box(gray: np.ndarray, tol: float = 0.02) -> Box:
    """Bounding box of rows/columns that are not uniform padding."""
    rows = np.nonzero(gray.std(axis=1) > tol)[0]
    cols = np.nonzero(gray.std(axis=0) > tol)[0]
    h, w = gray.shape
    if len(rows) < 10 or len(cols) < 10:
        return Box(0.0, 0.0, float(w), float(h))
    return Box(float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1))


def midline_fraction(gray: np.ndarray, box: Box) -> float:
    """Midline (brightest smoothed column of the central band) as a fraction of the content width."""
    from scipy.ndimage import uniform_filter1d

    x0, y0, w, h = int(box.x), int(box.y), int(box.w), int(box.h)
    sub = gray[y0:y0 + h, x0:x0 + w]
    profile = uniform_filter1d(sub[int(0.2 * h):max(int(0.8 * h), int(0.2 * h) + 1)].mean(axis=0), max(3, w // 20))
    c0, c1 = int(0.4 * w), max(int(0.6 * w), int(0.4 * w) + 1)
    return (c0 + int(np.argmax(profile[c0:c1]))) / max(w, 1)


def estimate_lung_fields(gray: np.ndarray) -> LungFields:
    """Lung boxes of a frontal radiograph given as an ``(H, W)`` array in [0, 1] (any size).

    Works on a copy downsampled to at most 512 px; boxes are returned in the input's pixels.
    """
    import cv2

    gray = np.asarray(gray, dtype=np.float32)
    h, w = gray.shape
    scale = min(1.0, 512.0 / max(h, w))
    small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA) if scale < 1 else gray
    cb = content_box(small)
    mid = midline_fraction(small, cb)
    boxes = [
        Box(
            (cb.x + (dx + mid) * cb.w) / scale,
            (cb.y + y * cb.h) / scale,
            bw * cb.w / scale,
            bh * cb.h / scale,
        )
        for dx, y, bw, bh in TEMPLATE
    ]
    content = Box(cb.x / scale, cb.y / scale, cb.w / scale, cb.h / scale)
    return LungFields(right=boxes[0], left=boxes[1], midline_x=(cb.x + mid * cb.w) / scale, content=content)


def locate(cam: np.ndarray, crop: object, lungs: LungFields, grid: int = 64, hot: float = 0.5) -> Location:
    """Locate one heatmap (model-grid ``(h, w)`` map in [0, 1]) relative to the lung fields.

    The map is upsampled to ``grid x grid`` over the model's crop (bilinear, as displayed). The peak
    is its maximum; the side and zone come from the *hot region* (values >= ``hot``): ``bilateral``
    when each lung holds at least 30 % of the in-lung hot mass, otherwise the lung with more; the
    zone is that of the hot-mass centroid within the chosen lung (for bilateral: the heavier lung).
    """
    from core.chest.model import upsample_cam

    big = upsample_cam(cam, grid, grid)
    size = crop.size  # type: ignore[attr-defined]
    step = size / grid
    ys, xs = np.mgrid[0:grid, 0:grid]
    img_x = crop.left + (xs + 0.5) * step - 0.5  # type: ignore[attr-defined]
    img_y = crop.top + (ys + 0.5) * step - 0.5  # type: ignore[attr-defined]
    iy, ix = np.unravel_index(int(np.argmax(big)), big.shape)
    peak = (float(img_x[iy, ix]), float(img_y[iy, ix]))
    peak_in = lungs.inside(*peak)
    if float(big.max()) <= 0.0:
        return Location(None, None, peak, peak_in)
    weight = np.clip(big - hot, 0.0, None)
    masses = {}
    for side, box in (("right", lungs.right), ("left", lungs.left)):
        inside = (img_x >= box.x) & (img_x <= box.x + box.w) & (img_y >= box.y) & (img_y <= box.y + box.h)
        masses[side] = (float((weight * inside).sum()), inside)
    total = masses["right"][0] + masses["left"][0]
    if total <= 0:
        return Location(None, None, peak, peak_in)
    main: Side = "right" if masses["right"][0] >= masses["left"][0] else "left"
    bilateral = min(masses["right"][0], masses["left"][0]) / total >= 0.3
    w_main = weight * masses[main][1]
    cy = float((w_main * img_y).sum() / max(w_main.sum(), 1e-9))
    return Location("bilateral" if bilateral else main, lungs.level_of(main, cy), peak, peak_in)
