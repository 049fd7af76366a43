"""Measurements at one level of the humeral shaft: deltoid tuberosity index and cortical thickness.

A level is measured on a line the user draws across the shaft. The line need not be exactly
perpendicular to the shaft: the shaft axis is estimated from how the outer edges move on lines
shifted parallel to the user's line, and the edges are then measured again on a line through the
same point that is perpendicular to the axis (widths along a tilted line are longer by
``1 / cos(tilt)``). The deltoid tuberosity index is a ratio and needs no calibration; cortical
thickness in millimetres needs the pixel spacing (DICOM) or a user calibration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from core.shoulder.edges import CorticalEdges, Method, find_edges, gradient_edges, manual_edges
from core.shoulder.profile import Line, MeasurementError, Profile, sample_profile

Spacing = tuple[float, float]  # (row_mm, col_mm)

MAX_TILT_DEG = 35.0
MIN_TILT_CORRECTION_DEG = 1.0


def mm_per_px_along(line: Line, spacing: Spacing | None) -> float | None:
    """Millimetres per pixel of distance along ``line`` for pixel ``spacing`` (row_mm, col_mm)."""
    if spacing is None:
        return None
    row_mm, col_mm = spacing
    ux, uy = line.direction
    return float(math.hypot(ux * col_mm, uy * row_mm))


def spacing_from_calibration(line: Line, known_mm: float) -> Spacing:
    """Isotropic pixel spacing from a line drawn over an object of known length.

    Raises:
        MeasurementError: the length is not positive or the line is too short.
    """
    if not known_mm or known_mm <= 0 or not math.isfinite(known_mm):
        raise MeasurementError("shoulder.error.calibration_length")
    if line.length < 5:
        raise MeasurementError("shoulder.error.line_too_short", min_px=5)
    mm = known_mm / line.length
    return (mm, mm)


@dataclass(frozen=True)
class TiltEstimate:
    """Angle between the user's line and the perpendicular to the shaft.

    Attributes:
        degrees: signed tilt (0 = already perpendicular).
        axis: unit vector (dx, dy) along the shaft.
        reliable: False when too few shifted lines gave edges or the tilt is implausible.
    """

    degrees: float
    axis: tuple[float, float]
    reliable: bool


def estimate_tilt(
    image: np.ndarray,
    line: Line,
    edges: CorticalEdges,
    spacing: Spacing | None = None,
    band_px: float = 3.0,
    n_lines: int = 7,
) -> TiltEstimate:
    """Estimate the shaft axis from outer edges on lines shifted parallel to ``line``.

    The shift range is half the measured outer diameter each way. An edge of the shaft
    crosses a line shifted by ``d`` at ``s0 + d * tan(tilt)``; the common slope of both outer
    edges against ``d`` gives the tilt.
    """
    half = max(0.5 * edges.outer_px, 3.0 * band_px)
    offsets = np.linspace(-half, half, n_lines)
    ds: list[float] = []
    s1: list[float] = []
    s4: list[float] = []
    ref_width = edges.outer_px
    for d in offsets:
        try:
            prof = sample_profile(image, line.shifted(float(d)), band_px=band_px)
            e = gradient_edges(prof)
        except MeasurementError:
            continue
        if abs(e.outer_px - ref_width) > 0.35 * ref_width:
            continue
        ds.append(float(d))
        s1.append(e.s[0])
        s4.append(e.s[3])
    u, n = line.direction, line.normal
    if len(ds) < 3:
        return TiltEstimate(0.0, (float(n[0]), float(n[1])), False)
    d_arr = np.array(ds + ds)
    y = np.array(s1 + s4)
    group = np.array([0] * len(ds) + [1] * len(ds), dtype=float)
    a = np.column_stack([d_arr, 1.0 - group, group])
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    slope = float(coef[0])
    axis = n + slope * u
    axis = axis / np.linalg.norm(axis)
    if axis[1] < 0:  # point distal (down the image) by convention
        axis = -axis
    # tilt = physical angle between the line and the perpendicular to the shaft
    row_mm, col_mm = spacing if spacing is not None else (1.0, 1.0)
    u_mm = np.array([u[0] * col_mm, u[1] * row_mm])
    perp = _perpendicular_px(axis, spacing)
    p_mm = np.array([perp[0] * col_mm, perp[1] * row_mm])
    cross = float(u_mm[0] * p_mm[1] - u_mm[1] * p_mm[0])
    tilt = math.degrees(math.atan2(cross, float(u_mm @ p_mm)))
    if tilt > 90:
        tilt -= 180
    elif tilt < -90:
        tilt += 180
    return TiltEstimate(tilt, (float(axis[0]), float(axis[1])), abs(tilt) <= MAX_TILT_DEG)


def _perpendicular_px(axis_px: np.ndarray, spacing: Spacing | None) -> np.ndarray:
    """Unit pixel-space direction that is perpendicular to ``axis_px`` in millimetres.

    With square pixels this is the pixel-space perpendicular; with anisotropic pixels
    perpendicularity is taken in physical space (where the bone is round).
    """
    row_mm, col_mm = spacing if spacing is not None else (1.0, 1.0)
    ax_mm = np.array([axis_px[0] * col_mm, axis_px[1] * row_mm])
    perp_mm = np.array([-ax_mm[1], ax_mm[0]])
    perp_px = np.array([perp_mm[0] / col_mm, perp_mm[1] / row_mm])
    return perp_px / np.linalg.norm(perp_px)


@dataclass(frozen=True)
class LevelMeasurement:
    """Edges and derived figures at one level.

    Attributes:
        user_line: the line as drawn.
        edges: edges on the measured line (``edges.line``: the user's line, or the
            perpendicular one when a tilt correction was applied).
        tilt: estimated tilt of the user's line (``None`` when not estimated).
        corrected: True when the edges were measured on the perpendicular line.
        mm_per_px: millimetres per pixel along the measured line (``None``: no spacing).
        profile: the profile the edges were found on (for plotting).
    """

    user_line: Line
    edges: CorticalEdges
    tilt: TiltEstimate | None
    corrected: bool
    mm_per_px: float | None
    profile: Profile

    @property
    def dti(self) -> float:
        """Outer / inner diameter (deltoid tuberosity index when measured at that level)."""
        return self.edges.outer_px / self.edges.inner_px

    @property
    def outer_mm(self) -> float | None:
        return None if self.mm_per_px is None else self.edges.outer_px * self.mm_per_px

    @property
    def inner_mm(self) -> float | None:
        return None if self.mm_per_px is None else self.edges.inner_px * self.mm_per_px

    @property
    def cortices_mm(self) -> tuple[float, float] | None:
        if self.mm_per_px is None:
            return None
        a, b = self.edges.cortex_px
        return (a * self.mm_per_px, b * self.mm_per_px)

    @property
    def cct_mm(self) -> float | None:
        """Combined cortical thickness (both cortices) in mm, ``None`` without spacing."""
        c = self.cortices_mm
        return None if c is None else c[0] + c[1]


def measure_level(
    image: np.ndarray,
    line: Line,
    spacing: Spacing | None = None,
    band_px: float = 5.0,
    method: Method = "model",
    correct_tilt: bool = True,
) -> LevelMeasurement:
    """Find the cortical edges across the shaft on ``line`` and derive the measurements.

    Args:
        image: 2-D grayscale image, bone bright.
        line: user's line across the shaft, starting and ending in soft tissue.
        spacing: pixel spacing (row_mm, col_mm), or ``None``.
        band_px: band width averaged across the line.
        method: ``"model"`` (projected hollow-cylinder fit) or ``"gradient"``.
        correct_tilt: re-measure perpendicular to the estimated shaft axis.

    Raises:
        MeasurementError: the line is too short, leaves the image, or crosses no bone.
    """
    profile = sample_profile(image, line, band_px=band_px)
    edges = find_edges(profile, method)
    if not correct_tilt:
        return LevelMeasurement(line, edges, None, False, mm_per_px_along(line, spacing), profile)
    tilt = estimate_tilt(image, line, edges, spacing)
    if not tilt.reliable or abs(tilt.degrees) < MIN_TILT_CORRECTION_DEG:
        return LevelMeasurement(line, edges, tilt, False, mm_per_px_along(line, spacing), profile)
    across = _perpendicular_px(np.array(tilt.axis), spacing)
    if float(across @ line.direction) < 0:
        across = -across
    centre = line.point_at(edges.centre_s)
    perp = line.with_direction(across, centre).clipped_to(image.shape[:2])
    try:
        perp_profile = sample_profile(image, perp, band_px=band_px)
        perp_edges = find_edges(perp_profile, method)
    except MeasurementError:
        return LevelMeasurement(line, edges, replace(tilt, reliable=False), False,
                                mm_per_px_along(line, spacing), profile)
    return LevelMeasurement(line, perp_edges, tilt, True, mm_per_px_along(perp, spacing), perp_profile)


def remeasure_with_edges(level: LevelMeasurement, s: tuple[float, float, float, float] | list[float]) -> LevelMeasurement:
    """The same level with edges the user adjusted (positions along ``level.edges.line``).

    Raises:
        MeasurementError: the positions are not strictly increasing.
    """
    return replace(level, edges=manual_edges(level.edges.line, s))


def distal_line(level: LevelMeasurement, distance_mm: float, spacing: Spacing | None) -> Line:
    """A line parallel to the measured one, ``distance_mm`` further down the shaft (Tingart level 2).

    Raises:
        MeasurementError: no spacing is known.
    """
    if spacing is None:
        raise MeasurementError("shoulder.error.needs_spacing")
    line = level.edges.line
    if level.tilt is not None and level.tilt.reliable:
        ax = np.array(level.tilt.axis)
    else:
        ax = line.normal if line.normal[1] >= 0 else -line.normal
    row_mm, col_mm = spacing
    mm_per_px = float(math.hypot(ax[0] * col_mm, ax[1] * row_mm))
    dist_px = distance_mm / mm_per_px
    return line.moved(float(ax[0] * dist_px), float(ax[1] * dist_px))
