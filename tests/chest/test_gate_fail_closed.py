"""The input gate fails closed: a missing, damaged or unverified reference file refuses analysis
with the fix named, instead of silently skipping its out-of-distribution check (hardening issue:
with one byte flipped in a reference, hand/knee/shoulder films and a text page were "Accepted")."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from core.chest import gate
from core.chest.analysis import analyse
from core.chest.gate import IMAGE_STATS_CARD, check_input, feature_card_name
from core.chest.starter import STARTER_MULTILABEL, load_starter
from core.imaging import load_image
from core.models import registry

STARTER_GATE = feature_card_name(STARTER_MULTILABEL)


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.uint8(np.clip(arr, 0, 1) * 255 + 0.5)).save(buf, format="PNG")
    return buf.getvalue()


def _chest_like() -> np.ndarray:
    """A built frontal-film-like image: bright mediastinum and body, two darker lung fields."""
    h, w = 512, 512
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    img = 0.75 - 0.1 * yy
    for cx in (0.3, 0.7):
        lung = ((xx - cx) / 0.17) ** 2 + ((yy - 0.48) / 0.32) ** 2 < 1
        img = np.where(lung, 0.3 + 0.08 * np.sin(xx * 60) * np.sin(yy * 60), img)
    rng = np.random.default_rng(0)
    return np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1)


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_a_damaged_image_reference_refuses_analysis_and_names_the_fix(weights_copy: Path, damage: str) -> None:
    img = load_image(_png(_chest_like()), "film.png")
    assert "reference_unavailable" not in {i.code for i in check_input(img).issues}
    target = weights_copy / registry.get_card(IMAGE_STATS_CARD).file
    _flip_one_byte(target) if damage == "flip" else target.unlink()
    result = check_input(img)
    codes = {i.code for i in result.issues}
    assert "reference_unavailable" in codes
    assert result.decision == "refuse" and not result.can_override
    issue = next(i for i in result.issues if i.code == "reference_unavailable")
    file = registry.get_card(IMAGE_STATS_CARD).file
    assert f"git checkout -- weights/{file}" in issue.message("en") and IMAGE_STATS_CARD in issue.message("ko")
    with pytest.raises(ValueError):
        result.override()


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_a_damaged_feature_reference_refuses_the_starter_analysis(weights_copy: Path, damage: str) -> None:
    starter = load_starter(STARTER_MULTILABEL)
    img = load_image(_png(_chest_like()), "film.png")
    target = weights_copy / registry.get_card(STARTER_GATE).file
    _flip_one_byte(target) if damage == "flip" else target.unlink()
    for override in (False, True):
        result = analyse(img, starter, override=override)
        codes = {i.code for i in result.gate.issues}
        assert "feature_reference_unavailable" in codes, codes
        assert result.gate.decision == "refuse"
        assert not result.findings, "findings were produced without the feature check"


def test_an_intact_install_has_no_reference_problem(weights_copy: Path) -> None:
    starter = load_starter(STARTER_MULTILABEL)
    img = load_image(_png(_chest_like()), "film.png")
    result = analyse(img, starter, override=True)
    codes = {i.code for i in result.gate.issues}
    assert not codes & {"reference_unavailable", "feature_reference_unavailable", "feature_check_unavailable"}


def test_a_model_without_fitted_features_warns_instead_of_passing_silently(weights_copy: Path) -> None:
    """A site-fitted reference (torchxrayvision's) that was never fitted: the image check still runs,
    and the result says the feature check did not."""
    from types import SimpleNamespace

    fake = SimpleNamespace(is_test_model=False, name="xrv-densenet121-res224-all", sha256="0" * 64)
    ref, issue = gate.feature_reference_or_issue(fake)
    assert ref is None and issue is not None
    assert issue.code == "feature_check_unavailable" and issue.severity == "warn"
