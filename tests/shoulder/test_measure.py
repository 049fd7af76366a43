"""Level measurements: spacing and calibration, anisotropic pixels, Tingart level 2, manual edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from core.shoulder.measure import (
    distal_line,
    measure_level,
    mm_per_px_along,
    remeasure_with_edges,
    spacing_from_calibration,
)
from core.shoulder.phantom import PhantomSpec, render_phantom
from core.shoulder.profile import Line, MeasurementError


def test_mm_per_px_along_a_line_with_anisotropic_pixels() -> None:
    assert mm_per_px_along(Line(0, 0, 10, 0), (0.2, 0.1)) == pytest.approx(0.1)
    assert mm_per_px_along(Line(0, 0, 0, 10), (0.2, 0.1)) == pytest.approx(0.2)
    assert mm_per_px_along(Line(0, 0, 10, 10), (0.2, 0.1)) == pytest.approx(math.hypot(0.1, 0.2) / math.sqrt(2))
    assert mm_per_px_along(Line(0, 0, 10, 0), None) is None


def test_calibration_from_an_object_of_known_length() -> None:
    assert spacing_from_calibration(Line(10, 10, 110, 10), 25.0) == pytest.approx((0.25, 0.25))
    for bad in (0.0, -3.0, float("nan")):
        with pytest.raises(MeasurementError) as info:
            spacing_from_calibration(Line(10, 10, 110, 10), bad)
        assert info.value.key == "shoulder.error.calibration_length"


def test_ratio_needs_no_spacing_thickness_does() -> None:
    spec = PhantomSpec(outer_d_mm=20.0, inner_d_mm=14.0, spacing_mm=0.15)
    ph = render_phantom(spec)
    lvl = measure_level(ph.image, ph.line_across(), None)
    assert lvl.dti == pytest.approx(spec.true_dti, rel=0.03)
    assert lvl.cct_mm is None and lvl.cortices_mm is None and lvl.outer_mm is None


def test_calibrated_thickness_matches_dicom_spacing() -> None:
    """A calibration object of known length gives the same thickness as the true spacing."""
    spec = PhantomSpec(outer_d_mm=20.0, inner_d_mm=13.0, spacing_mm=0.2, shape=(400, 400))
    ph = render_phantom(spec)
    ruler = Line(20, 380, 20 + 50 / 0.2, 380)  # a 50 mm object drawn end to end
    spacing = spacing_from_calibration(ruler, 50.0)
    lvl = measure_level(ph.image, ph.line_across(), spacing)
    assert lvl.cct_mm == pytest.approx(spec.true_cct_mm, abs=0.3)
    assert lvl.outer_mm == pytest.approx(20.0, abs=0.3)


def test_anisotropic_pixels_are_handled() -> None:
    """Columns squeezed 2:1 (col spacing 0.2 mm, row 0.1 mm), shaft at 30 degrees."""
    spec = PhantomSpec(outer_d_mm=20.0, inner_d_mm=14.0, spacing_mm=0.1, shape=(600, 600), axis_deg=30, photons=0,
                       noise_sd=0.002, blur_px=1.5)
    ph = render_phantom(spec)
    squeezed = ndimage.zoom(ph.image, (1.0, 0.5), order=1, grid_mode=False)
    f = (squeezed.shape[1] - 1) / (ph.image.shape[1] - 1)  # output column = input column * f
    line = ph.line_across(tilt_deg=15.0)
    lvl = measure_level(squeezed, Line(line.x1 * f, line.y1, line.x2 * f, line.y2), (0.1, 0.1 / f))
    assert lvl.corrected
    assert lvl.cct_mm == pytest.approx(spec.true_cct_mm, abs=0.3)
    assert lvl.dti == pytest.approx(spec.true_dti, rel=0.03)


def test_level_two_is_twenty_mm_down_the_shaft() -> None:
    spec = PhantomSpec(outer_d_mm=20.0, inner_d_mm=14.0, spacing_mm=0.15, axis_deg=10, shape=(700, 500))
    ph = render_phantom(spec)
    lvl = measure_level(ph.image, ph.line_across(along_mm=-10.0, tilt_deg=6.0), (0.15, 0.15))
    l2 = distal_line(lvl, 20.0, (0.15, 0.15))
    c1 = np.array(lvl.edges.line.point_at(lvl.edges.line.length / 2))
    c2 = np.array(l2.point_at(l2.length / 2))
    step = (c2 - c1) * 0.15
    assert np.linalg.norm(step) == pytest.approx(20.0, abs=0.1)
    assert float(np.dot(step / np.linalg.norm(step), ph.axis)) > 0.999  # along the shaft, distally
    with pytest.raises(MeasurementError):
        distal_line(lvl, 20.0, None)


def test_user_adjusted_edges_replace_the_automatic_ones() -> None:
    ph = render_phantom(PhantomSpec(outer_d_mm=20.0, inner_d_mm=14.0))
    lvl = measure_level(ph.image, ph.line_across(), (0.15, 0.15))
    e = lvl.edges.s
    moved = remeasure_with_edges(lvl, [e[0] - 2, e[1], e[2], e[3] + 2])
    assert moved.edges.method == "manual"
    assert moved.dti == pytest.approx((e[3] - e[0] + 4) / (e[2] - e[1]))
    assert moved.cct_mm == pytest.approx(lvl.cct_mm + 4 * 0.15)
