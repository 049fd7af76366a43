"""Lines across the humeral shaft and intensity profiles sampled along them.

Coordinates are image pixels with ``x`` = column and ``y`` = row; a pixel's centre sits at
integer coordinates (pixel ``[r, c]`` is the point ``(x=c, y=r)``). Profiles are sampled with
bilinear interpolation and averaged over a thin band perpendicular to the line, which lowers
noise without moving edges that run across the band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from core.errors import UserError


class MeasurementError(UserError):
    """A measurement cannot be made (line too short, outside the image, no bone edges found)."""


@dataclass(frozen=True)
class Line:
    """A segment from ``(x1, y1)`` to ``(x2, y2)`` in pixel coordinates."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def length(self) -> float:
        """Length in pixels."""
        return math.hypot(self.x2 - self.x1, self.y2 - self.y1)

    @property
    def direction(self) -> np.ndarray:
        """Unit vector (dx, dy) from the first point to the second.

        Raises:
            MeasurementError: the two points coincide.
        """
        length = self.length
        if length < 1e-9:
            raise MeasurementError("shoulder.error.line_too_short", min_px=2)
        return np.array([(self.x2 - self.x1) / length, (self.y2 - self.y1) / length])

    @property
    def normal(self) -> np.ndarray:
        """Unit vector perpendicular to :attr:`direction` (rotated +90 degrees)."""
        ux, uy = self.direction
        return np.array([-uy, ux])

    def point_at(self, s: float) -> tuple[float, float]:
        """The point ``s`` pixels from the first point along the line."""
        ux, uy = self.direction
        return (self.x1 + s * ux, self.y1 + s * uy)

    def shifted(self, offset: float) -> Line:
        """The parallel line moved ``offset`` pixels along :attr:`normal`."""
        nx, ny = self.normal * offset
        return Line(self.x1 + nx, self.y1 + ny, self.x2 + nx, self.y2 + ny)

    def moved(self, dx: float, dy: float) -> Line:
        """The same line translated by ``(dx, dy)`` pixels."""
        return Line(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy)

    def with_direction(self, direction: np.ndarray, centre: tuple[float, float]) -> Line:
        """A line of the same length through ``centre`` along the unit vector ``direction``."""
        half = self.length / 2.0
        cx, cy = centre
        dx, dy = float(direction[0]) * half, float(direction[1]) * half
        return Line(cx - dx, cy - dy, cx + dx, cy + dy)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def clipped_to(self, shape: tuple[int, int]) -> Line:
        """The line with both ends clamped into an image of ``shape`` (rows, cols)."""
        h, w = shape
        def cx(v: float) -> float:
            return float(min(max(v, 0.0), w - 1.0))
        def cy(v: float) -> float:
            return float(min(max(v, 0.0), h - 1.0))
        return Line(cx(self.x1), cy(self.y1), cx(self.x2), cy(self.y2))


@dataclass(frozen=True)
class Profile:
    """Intensities sampled along a line.

    Attributes:
        line: the line sampled.
        s: positions along the line in pixels from its first point (evenly spaced).
        values: mean intensity over the band at each position.
        band_px: width of the band averaged, in pixels.
    """

    line: Line
    s: np.ndarray
    values: np.ndarray
    band_px: float

    @property
    def step(self) -> float:
        return float(self.s[1] - self.s[0]) if len(self.s) > 1 else 1.0


MIN_LINE_PX = 12.0


def sample_profile(
    image: np.ndarray,
    line: Line,
    band_px: float = 5.0,
    step_px: float = 0.5,
) -> Profile:
    """Sample ``image`` along ``line`` with bilinear interpolation, averaged over a band.

    Args:
        image: 2-D grayscale array (any float or integer dtype).
        line: the line, in pixel coordinates.
        band_px: width of the band perpendicular to the line that is averaged (1 = no band).
        step_px: distance between samples along the line.

    Raises:
        MeasurementError: the line is shorter than :data:`MIN_LINE_PX` or leaves the image.
        ValueError: ``image`` is not 2-D.
    """
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image, got shape {image.shape}")
    if line.length < MIN_LINE_PX:
        raise MeasurementError("shoulder.error.line_too_short", min_px=int(MIN_LINE_PX))
    h, w = image.shape
    n_band = max(1, int(round(band_px)))
    offsets = (np.arange(n_band) - (n_band - 1) / 2.0) * (band_px / n_band if n_band > 1 else 0.0)
    n = int(math.floor(line.length / step_px)) + 1
    s = np.arange(n, dtype=np.float64) * step_px
    u = line.direction
    nrm = line.normal
    xs = line.x1 + s[None, :] * u[0] + offsets[:, None] * nrm[0]
    ys = line.y1 + s[None, :] * u[1] + offsets[:, None] * nrm[1]
    margin = 0.5
    if xs.min() < -margin or ys.min() < -margin or xs.max() > w - 1 + margin or ys.max() > h - 1 + margin:
        raise MeasurementError("shoulder.error.line_outside")
    img = image if image.dtype in (np.float32, np.float64) else image.astype(np.float32)
    vals = ndimage.map_coordinates(img, [ys.ravel(), xs.ravel()], order=1, mode="nearest")
    values = vals.reshape(n_band, n).mean(axis=0).astype(np.float64)
    return Profile(line=line, s=s, values=values, band_px=float(band_px))
