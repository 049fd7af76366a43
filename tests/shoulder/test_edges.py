"""Automatic cortical edges on synthetic radiograph phantoms with known dimensions.

Each phantom is a projected hollow cylinder (dense cortex, lighter marrow) inside a soft-tissue
cylinder, blurred by a Gaussian PSF with Poisson + Gaussian noise. Targets (issue #seed-002):
DTI within 3% of the truth and combined cortical thickness within 0.3 mm given the spacing.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.shoulder.edges import find_edges, gradient_edges, manual_edges, model_fit_edges
from core.shoulder.measure import measure_level
from core.shoulder.phantom import PhantomSpec, render_phantom
from core.shoulder.profile import Line, MeasurementError, sample_profile

DTI_TOL = 0.03
CCT_TOL_MM = 0.3


def _spec(**kw: object) -> PhantomSpec:
    od, sp = float(kw.get("outer_d_mm", 22.0)), float(kw.get("spacing_mm", 0.15))
    side = int(2.2 * od / sp) + 40
    return PhantomSpec(shape=(side, side), **kw)  # type: ignore[arg-type]


# (outer mm, inner mm, spacing mm, blur px, canal offset mm): several sizes, spacings and blurs
SIZES = [
    (22.0, 14.0, 0.15, 1.2, 0.0),
    (18.0, 14.0, 0.20, 1.5, 1.0),
    (26.0, 16.0, 0.10, 2.0, 0.0),
    (12.0, 8.0, 0.30, 1.0, 0.0),
    (20.0, 15.0, 0.25, 1.5, -0.5),
    (24.0, 18.0, 0.14, 2.5, 0.0),
    (16.0, 9.0, 0.20, 1.0, 0.3),
    (20.0, 14.5, 0.175, 1.8, 0.0),
]


@pytest.mark.parametrize(("od", "idd", "sp", "blur", "off"), SIZES)
def test_model_fit_meets_the_targets_at_several_sizes(od: float, idd: float, sp: float, blur: float, off: float) -> None:
    spec = _spec(outer_d_mm=od, inner_d_mm=idd, spacing_mm=sp, blur_px=blur, canal_offset_mm=off, seed=int(od * 10))
    ph = render_phantom(spec)
    edges = find_edges(sample_profile(ph.image, ph.line_across(), band_px=5))
    assert edges.method == "model"
    assert edges.outer_px / edges.inner_px == pytest.approx(spec.true_dti, rel=DTI_TOL)
    assert sum(edges.cortex_px) * sp == pytest.approx(spec.true_cct_mm, abs=CCT_TOL_MM)
    # unequal cortices (off-centre canal) are told apart
    c1, c2 = (c * sp for c in edges.cortex_px)
    assert c1 == pytest.approx(spec.true_cortices_mm[0], abs=0.25)
    assert c2 == pytest.approx(spec.true_cortices_mm[1], abs=0.25)
    assert edges.r2 is not None and edges.r2 > 0.95
    assert edges.sigma_px == pytest.approx(blur, rel=0.5)


@pytest.mark.parametrize("seed", range(5))
def test_accuracy_holds_across_noise_realisations_and_noise_levels(seed: int) -> None:
    photons = [500.0, 1000.0, 2000.0, 5000.0, 0.0][seed]
    spec = _spec(outer_d_mm=21.0, inner_d_mm=15.0, spacing_mm=0.15, blur_px=1.4, photons=photons,
                 noise_sd=0.01, seed=100 + seed)
    ph = render_phantom(spec)
    edges = find_edges(sample_profile(ph.image, ph.line_across(), band_px=7))
    assert edges.outer_px / edges.inner_px == pytest.approx(spec.true_dti, rel=DTI_TOL)
    assert sum(edges.cortex_px) * 0.15 == pytest.approx(spec.true_cct_mm, abs=CCT_TOL_MM)


@pytest.mark.parametrize(("tilt", "axis"), [(0.0, 0.0), (12.0, 30.0), (-20.0, -8.0), (25.0, 5.0), (-30.0, 15.0)])
def test_rotated_shafts_and_tilted_lines_are_corrected(tilt: float, axis: float) -> None:
    """The line need not be perpendicular: widths along it are 1/cos(tilt) too long until the
    tilt is estimated from parallel lines and the level is measured again perpendicular to the shaft."""
    spec = _spec(outer_d_mm=20.0, inner_d_mm=13.5, spacing_mm=0.15, blur_px=1.3, axis_deg=axis, seed=5)
    ph = render_phantom(spec)
    line = ph.line_across(tilt_deg=tilt)
    lvl = measure_level(ph.image, line, (0.15, 0.15))
    assert lvl.tilt is not None and lvl.tilt.reliable
    assert abs(lvl.tilt.degrees) == pytest.approx(abs(tilt), abs=1.0)
    assert lvl.corrected == (abs(tilt) >= 1.0)
    assert lvl.dti == pytest.approx(spec.true_dti, rel=DTI_TOL)
    assert lvl.cct_mm == pytest.approx(spec.true_cct_mm, abs=CCT_TOL_MM)
    # the estimated axis is the phantom's axis
    assert abs(float(np.dot(lvl.tilt.axis, ph.axis))) > np.cos(np.radians(1.5))
    if abs(tilt) >= 10:
        raw = measure_level(ph.image, line, (0.15, 0.15), correct_tilt=False)
        assert raw.cct_mm > spec.true_cct_mm + 0.05  # uncorrected widths are stretched


def test_mildly_non_linear_display_curve_stays_within_the_targets() -> None:
    for od, idd, sp in [(22.0, 15.0, 0.15), (18.0, 12.0, 0.2), (25.0, 17.0, 0.12)]:
        spec = _spec(outer_d_mm=od, inner_d_mm=idd, spacing_mm=sp, blur_px=1.2, transfer="exp", seed=3)
        ph = render_phantom(spec)
        lvl = measure_level(ph.image, ph.line_across(tilt_deg=10.0), (sp, sp))
        assert lvl.dti == pytest.approx(spec.true_dti, rel=DTI_TOL)
        assert lvl.cct_mm == pytest.approx(spec.true_cct_mm, abs=CCT_TOL_MM)


def test_model_fit_removes_the_bias_of_gradient_extrema() -> None:
    """Gradient extrema of a blurred projected cylinder sit inside each cortex; the fit does not."""
    spec = _spec(outer_d_mm=12.0, inner_d_mm=8.0, spacing_mm=0.3, blur_px=1.5, photons=0.0, noise_sd=0.0)
    ph = render_phantom(spec)
    prof = sample_profile(ph.image, ph.line_across())
    grad = gradient_edges(prof)
    fit = model_fit_edges(prof, grad)
    err_grad = abs(grad.outer_px / grad.inner_px / spec.true_dti - 1)
    err_fit = abs(fit.outer_px / fit.inner_px / spec.true_dti - 1)
    assert err_fit < 0.01
    assert err_fit < err_grad / 3


def test_edges_are_ordered_and_on_the_line() -> None:
    ph = render_phantom(_spec())
    line = ph.line_across()
    edges = find_edges(sample_profile(ph.image, line))
    assert list(edges.s) == sorted(edges.s)
    pts = edges.points()
    for (x, y), s in zip(pts, edges.s, strict=True):
        assert (x, y) == pytest.approx(line.point_at(s))


def test_no_bone_on_the_line_is_a_user_error() -> None:
    rng = np.random.default_rng(1)
    flat = (0.4 + rng.normal(0, 0.01, (200, 200))).astype(np.float32)
    with pytest.raises(MeasurementError) as info:
        find_edges(sample_profile(flat, Line(20, 100, 180, 100)))
    assert info.value.key == "shoulder.error.no_edges"


def test_manual_edges_must_be_increasing() -> None:
    line = Line(0, 0, 100, 0)
    edges = manual_edges(line, [10, 20, 70, 80])
    assert edges.outer_px == 70 and edges.inner_px == 50 and edges.method == "manual"
    with pytest.raises(MeasurementError):
        manual_edges(line, [10, 30, 20, 80])
