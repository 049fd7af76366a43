"""Lung fields from image geometry, validated against the ieee8023 lung boxes; zone naming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.chest.preprocess import CropBox
from core.chest.zones import Box, LungFields, estimate_lung_fields, locate


def _held_out_rows(covid_rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows with lung boxes; odd positions are the held-out half (the template used the even ones)."""
    boxed = [r for r in covid_rows if r["lung_boxes_xywh"].startswith("[[")]
    return boxed[1::2]


def test_lung_boxes_match_the_held_out_ieee_annotations(shared_data: Path, covid_rows, load) -> None:
    rows = _held_out_rows(covid_rows)[::5]
    ious, covered = [], []
    for row in rows:
        img = load(f"cxr/covid/images/{row['image']}")
        lungs = estimate_lung_fields(np.asarray(img.gray()))
        truth = sorted(json.loads(row["lung_boxes_xywh"]), key=lambda b: b[0])
        for ours, (x, y, w, h) in zip((lungs.right, lungs.left), truth, strict=True):
            gt = Box(x, y, w, h)
            ious.append(ours.iou(gt))
            covered.append(ours.intersection(gt) / (w * h))
    assert len(rows) >= 50
    assert np.mean(ious) >= 0.65, np.mean(ious)
    assert np.mean(covered) >= 0.75
    assert np.mean(np.array(ious) < 0.3) <= 0.05


def test_patient_right_is_the_image_left(load) -> None:
    lungs = estimate_lung_fields(np.asarray(load("cxr/samples/00000001_000.png").gray()))
    assert lungs.right.x < lungs.midline_x < lungs.left.x + lungs.left.w
    assert lungs.right.x + lungs.right.w / 2 < lungs.left.x + lungs.left.w / 2


def _lungs() -> LungFields:
    return LungFields(right=Box(40, 30, 160, 400), left=Box(260, 30, 160, 400), midline_x=230, content=Box(0, 0, 460, 460))


def _cam_at(points: list[tuple[int, int]], size: int = 7) -> np.ndarray:
    cam = np.zeros((size, size), np.float32)
    for x, y in points:
        cam[y, x] = 1.0
    return cam


@pytest.mark.parametrize(("point", "side", "level"), [
    ((1, 1), "right", "upper"), ((1, 3), "right", "middle"), ((1, 5), "right", "lower"),
    ((5, 1), "left", "upper"), ((5, 5), "left", "lower"),
])
def test_heatmap_hot_spot_names_side_and_zone(point: tuple[int, int], side: str, level: str) -> None:
    crop = CropBox(0, 0, 460, 460, 460)
    loc = locate(_cam_at([point]), crop, _lungs())
    assert (loc.side, loc.level) == (side, level)
    assert loc.peak_in_lung


def test_hot_spots_in_both_lungs_are_bilateral_and_outside_is_none() -> None:
    crop = CropBox(0, 0, 460, 460, 460)
    assert locate(_cam_at([(1, 5), (5, 5)]), crop, _lungs()).side == "bilateral"
    outside = locate(_cam_at([(3, 6)]), crop, LungFields(Box(40, 50, 150, 200), Box(270, 50, 150, 200), 230, Box(0, 0, 460, 460)))
    assert outside.side is None and not outside.peak_in_lung


def test_a_point_near_a_lung_box_edge_is_inside_but_not_in_its_core() -> None:
    from core.chest.zones import EDGE_MARGIN

    lungs = _lungs()  # right lung box x 40-200, y 30-430
    mx, my = EDGE_MARGIN
    assert lungs.in_core(120, 230)  # the middle of the right lung
    near_side = 40 + 0.5 * mx * 160  # half the margin in from the lateral edge
    near_base = 430 - 0.5 * my * 400  # half the margin up from the base
    for px, py in ((near_side, 230), (120, near_base)):
        assert lungs.inside(px, py) and not lungs.in_core(px, py)
    assert lungs.in_core(40 + 1.5 * mx * 160, 230)  # deeper than the margin
    assert not lungs.in_core(230, 230)  # the mediastinum: in neither box
    assert lungs.in_core(near_side, 230, margin=(0.0, 0.0))  # no margin: the box itself


def test_the_edge_margin_is_the_estimates_median_edge_error_on_the_template_rows(shared_data: Path, covid_rows, load) -> None:
    """EDGE_MARGIN is measured, not chosen: recompute it on a sample of the template (even) rows."""
    from core.chest.zones import EDGE_MARGIN

    boxed = [r for r in covid_rows if r["lung_boxes_xywh"].startswith("[[")][0::2][::4]
    ex, ey = [], []
    for row in boxed:
        lungs = estimate_lung_fields(np.asarray(load(f"cxr/covid/images/{row['image']}").gray()))
        truth = sorted(json.loads(row["lung_boxes_xywh"]), key=lambda b: b[0])
        for ours, (x, y, w, h) in zip((lungs.right, lungs.left), truth, strict=True):
            ex += [abs(ours.x - x) / w, abs(ours.x + ours.w - x - w) / w]
            ey += [abs(ours.y - y) / h, abs(ours.y + ours.h - y - h) / h]
    assert len(boxed) >= 50
    assert abs(float(np.median(ex)) - EDGE_MARGIN[0]) <= 0.02
    assert abs(float(np.median(ey)) - EDGE_MARGIN[1]) <= 0.02


def test_report_facts_hedge_a_peak_at_the_lung_edge_and_name_no_side_outside(test_model, load) -> None:
    """The analysis turns a peak's position into the facts' ``edge`` / ``outside`` flags."""
    from dataclasses import replace

    from core.chest.analysis import ChestFinding, analyse
    from core.chest.reading import OperatingPoint
    from core.chest.zones import EDGE_MARGIN, Location

    result = analyse(load("cxr/samples/00000001_000.png"), test_model, override=True, image_ref=None, feature_ref=None)
    assert result.analysed
    index = int(np.argmax(result.prediction.cam_peak))
    assert result.prediction.cam_peak[index] > 0
    lungs = _lungs()
    near_side = 40 + 0.5 * EDGE_MARGIN[0] * 160
    cases = {"core": ((120.0, 330.0), False, False), "edge": ((near_side, 330.0), True, False),
             "outside": ((230.0, 450.0), False, True)}
    for name, (peak, edge, outside) in cases.items():
        finding = ChestFinding(index, "Atelectasis", "atelectasis", 0.99, "lung",
                               Location("right", "lower", peak, lungs.inside(*peak)))
        fact = replace(result, lungs=lungs, findings=(finding,)).facts(OperatingPoint.of("balanced")).findings[0]
        assert (fact.edge, fact.outside) == (edge, outside), name
        assert (fact.side is None) == outside, name
