"""Measurements against phantoms with known truth (tolerances from the issue: 10 %)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.scalp.measure import ANALYSIS_LONG_SIDE, Analysed, downscale, measure
from core.scalp.synthetic import Phantom, make_phantom


def _area(share: float, a: Analysed) -> float:
    h, w = a.measurements.analysed_shape
    return share * h * w


def test_hair_count_over_several_phantoms_is_within_ten_percent() -> None:
    """20 curved shafts of 7 px with crossings, eight layouts: the mean count is within 10 %
    and at least 6 of 8 single photos are within 10 % (crossings and hair ends lying on other
    hairs make single counts scatter; docs/scalp.md gives the full accuracy table)."""
    ratios = []
    for seed in range(8):
        p = make_phantom(seed=seed, hairs=20, fine_flakes=10, large_flakes=1, red_blotches=1, shine_spots=4)
        ratios.append(measure(p.rgb).measurements.hair_count / p.truth.hair_count)
    assert abs(np.mean(ratios) - 1.0) <= 0.10, ratios
    assert sum(abs(r - 1.0) <= 0.10 for r in ratios) >= 6, ratios


def test_a_sparse_photo_is_counted_within_ten_percent() -> None:
    p = make_phantom(seed=5, hairs=10, hair_length=(0.2, 0.35))
    m = measure(p.rgb).measurements
    assert abs(m.hair_count - p.truth.hair_count) <= 0.10 * p.truth.hair_count


@pytest.mark.parametrize("width", [4.0, 7.0, 11.0])
def test_shaft_thickness_is_within_ten_percent(width: float) -> None:
    p = make_phantom(seed=2, hairs=15, hair_width=width)
    m = measure(p.rgb).measurements
    assert m.hair_width_px == pytest.approx(width, rel=0.10)
    assert m.hair_width_frac == pytest.approx(width / p.rgb.shape[1], rel=0.10)


def test_flake_area_is_within_ten_percent(phantom: Phantom, analysed: Analysed) -> None:
    m, truth = analysed.measurements, phantom.truth
    assert _area(m.flake_share, analysed) == pytest.approx(truth.flake_area, rel=0.10)
    # the split into fine scale and dandruff follows the drawn sizes
    assert _area(m.fine_scale_share, analysed) == pytest.approx(truth.fine_flake_area, rel=0.15)
    assert _area(m.dandruff_share, analysed) == pytest.approx(truth.large_flake_area, rel=0.15)


def test_redness_area_and_a_star_match_the_drawn_blotches(phantom: Phantom, analysed: Analysed) -> None:
    m, truth = analysed.measurements, phantom.truth
    red_px = m.erythema_share * m.skin_share * np.prod(m.analysed_shape)
    assert red_px == pytest.approx(truth.red_area, rel=0.10)
    assert m.erythema_a_star == pytest.approx(truth.red_a_star, abs=2.0)
    assert m.a_star_between == pytest.approx(truth.skin_a_star, abs=2.0)


def test_shine_area_is_within_ten_percent(phantom: Phantom, analysed: Analysed) -> None:
    assert _area(analysed.measurements.shine_share, analysed) == pytest.approx(phantom.truth.shine_area, rel=0.10)


def test_pustule_candidates_are_found_where_drawn(phantom: Phantom, analysed: Analysed) -> None:
    found = analysed.masks.pustules
    assert analysed.measurements.pustule_count == phantom.truth.pustule_count == len(found)
    for cx, cy in phantom.truth.pustule_centres:
        assert min(np.hypot(r - cy, c - cx) for r, c, _ in found) < phantom.spec.pustule_radius


def test_no_pustules_and_little_redness_on_a_calm_scalp() -> None:
    p = make_phantom(seed=4, hairs=15, red_blotches=0, pustules=0, fine_flakes=0, large_flakes=0, shine_spots=0)
    m = measure(p.rgb).measurements
    assert m.pustule_count == 0
    assert m.erythema_share < 0.02
    assert m.flake_share < 0.0005
    assert m.shine_share < 0.0005


def test_red_rings_at_hair_roots_raise_perifollicular_redness_only() -> None:
    calm = measure(make_phantom(seed=3, hairs=15).rgb).measurements
    red = measure(make_phantom(seed=3, hairs=15, follicle_a_star=28.0).rgb).measurements
    assert calm.red_end_share is not None and calm.red_end_share < 0.1
    # roots are red, tips are not: about half of all hair ends carry a red ring
    assert red.red_end_share is not None and 0.3 <= red.red_end_share <= 0.7
    assert red.a_star_follicular is not None and calm.a_star_follicular is not None
    assert red.a_star_follicular > calm.a_star_follicular + 3
    assert red.a_star_between == pytest.approx(calm.a_star_between, abs=1.0)


def test_thin_hair_share_follows_the_share_of_thin_shafts() -> None:
    p = make_phantom(seed=6, hairs=14, hair_width=8.0, thin_hairs=6, thin_hair_width=3.0)
    m = measure(p.rgb).measurements
    assert m.thin_hair_share == pytest.approx(p.truth.thin_hair_share, abs=0.08)
    uniform = measure(make_phantom(seed=6, hairs=20, hair_width=8.0).rgb).measurements
    assert uniform.thin_hair_share is not None and uniform.thin_hair_share < 0.05


def test_large_photos_are_measured_at_bounded_resolution_with_the_same_result(phantom: Phantom,
                                                                               analysed: Analysed) -> None:
    big = cv2.resize(phantom.rgb, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
    a = measure(big)
    assert max(a.measurements.analysed_shape) == ANALYSIS_LONG_SIDE
    assert a.measurements.scale == pytest.approx(0.5)
    m0, m1 = analysed.measurements, a.measurements
    assert m1.hair_width_px == pytest.approx(m0.hair_width_px, rel=0.10)
    assert m1.flake_share == pytest.approx(m0.flake_share, rel=0.10)
    assert abs(m1.hair_count - m0.hair_count) <= 2


def test_physical_units_only_with_a_field_of_view(phantom: Phantom) -> None:
    plain = measure(phantom.rgb).measurements
    assert plain.hair_density_per_cm2 is None and plain.hair_width_um is None
    m = measure(phantom.rgb, field_of_view_mm=10.0).measurements
    h, w = m.analysed_shape
    area_cm2 = 1.0 * (h / w)
    assert m.hair_density_per_cm2 == pytest.approx(m.hair_count / area_cm2)
    assert m.hair_width_um == pytest.approx(m.hair_width_px * 10_000 / w)


def test_a_photo_without_hair_reports_none_for_width() -> None:
    p = make_phantom(seed=0, hairs=0, thin_hairs=0)
    m = measure(p.rgb).measurements
    assert m.hair_count == 0 and m.hair_width_px is None and m.thin_hair_share is None


def test_downscale_keeps_small_images_and_rejects_bad_shapes() -> None:
    small = np.zeros((100, 80, 3), np.float32)
    out, scale = downscale(small)
    assert out.shape == small.shape and scale == 1.0
    with pytest.raises(ValueError, match="RGB"):
        measure(np.zeros((10, 10), np.float32))


def test_masks_are_consistent_with_the_numbers(analysed: Analysed) -> None:
    m, masks = analysed.measurements, analysed.masks
    frame = np.prod(m.analysed_shape)
    assert masks.hair.sum() / frame == pytest.approx(m.hair_coverage)
    assert masks.shine.sum() / frame == pytest.approx(m.shine_share)
    assert not (masks.fine_flakes & masks.large_flakes).any()
    assert not (masks.hair & (masks.fine_flakes | masks.large_flakes)).any()
    assert m.as_dict()["hair_count"] == m.hair_count
