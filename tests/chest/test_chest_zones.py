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
