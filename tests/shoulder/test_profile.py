"""Profiles along a line: bilinear sampling, band averaging, and the errors a user can cause."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.shoulder.profile import Line, MeasurementError, sample_profile


def test_bilinear_sampling_is_exact_on_a_plane() -> None:
    yy, xx = np.mgrid[0:80, 0:100].astype(np.float32)
    img = 0.3 * xx + 0.7 * yy + 2.0
    line = Line(10.3, 12.7, 85.9, 60.2)
    prof = sample_profile(img, line, band_px=1, step_px=0.5)
    ux, uy = line.direction
    xs, ys = line.x1 + prof.s * ux, line.y1 + prof.s * uy
    np.testing.assert_allclose(prof.values, 0.3 * xs + 0.7 * ys + 2.0, rtol=1e-5)
    assert prof.step == pytest.approx(0.5)
    assert prof.s[-1] <= line.length < prof.s[-1] + 0.5


def test_band_average_lowers_noise_without_moving_an_edge_across_the_line() -> None:
    rng = np.random.default_rng(0)
    img = np.where(np.arange(120)[None, :] >= 60.5, 1.0, 0.0) * np.ones((100, 1)) + rng.normal(0, 0.2, (100, 120))
    line = Line(20, 50, 100, 50)
    narrow = sample_profile(img, line, band_px=1)
    wide = sample_profile(img, line, band_px=9)
    flat = wide.s < 35  # left of the edge
    assert wide.values[flat].std() < 0.5 * narrow.values[flat].std()
    # the step is still where it was: half-way crossing between 40 and 41 (x = 60.5)
    i = int(np.argmin(np.abs(wide.values - 0.5)))
    assert abs(wide.s[i] - 40.5) <= 1.0


def test_line_geometry() -> None:
    line = Line(0, 0, 30, 40)
    assert line.length == 50
    np.testing.assert_allclose(line.direction, [0.6, 0.8])
    np.testing.assert_allclose(line.normal, [-0.8, 0.6])
    moved = line.shifted(10)
    assert moved.length == pytest.approx(50)
    assert moved.x1 == pytest.approx(-8) and moved.y1 == pytest.approx(6)
    turned = line.with_direction(np.array([1.0, 0.0]), (15, 20))
    assert turned.as_tuple() == pytest.approx((-10, 20, 40, 20))
    assert line.point_at(25) == pytest.approx((15, 20))
    assert Line(-5, 3, 200, 400).clipped_to((100, 120)).as_tuple() == (0, 3, 119, 99)


@pytest.mark.parametrize(
    ("line", "key"),
    [(Line(10, 10, 15, 12), "shoulder.error.line_too_short"), (Line(10, 10, 10, 10), "shoulder.error.line_too_short"),
     (Line(-20, 10, 50, 10), "shoulder.error.line_outside"), (Line(10, 10, 50, 99.9), "shoulder.error.line_outside")],
)
def test_bad_lines_raise_user_errors(line: Line, key: str) -> None:
    with pytest.raises(MeasurementError) as info:
        sample_profile(np.zeros((60, 60), np.float32), line, band_px=5)
    assert info.value.key == key
    assert info.value.message("ko") and info.value.message("en") != key


def test_non_2d_image_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        sample_profile(np.zeros((20, 20, 3)), Line(1, 1, 18, 18))
    assert math.isfinite(sample_profile(np.zeros((20, 20), np.uint8), Line(1, 1, 18, 18)).values.sum())
