"""The photo quality gate: each problem is found, explained in both languages, and blocks or warns."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.scalp.quality import PhotoQualityError, check_quality, require_quality
from core.scalp.synthetic import Phantom


def codes(rgb: np.ndarray, **kw: object) -> list[str]:
    return [i.code for i in check_quality(rgb, **kw).issues]  # type: ignore[arg-type]


def test_a_good_phantom_passes(phantom: Phantom) -> None:
    report = check_quality(phantom.rgb)
    assert report.ok and report.issues == ()
    assert require_quality(report) is report


def test_blur_blocks_and_slight_softness_only_warns(phantom: Phantom) -> None:
    assert codes(cv2.GaussianBlur(phantom.rgb, (0, 0), 8)) == ["blurred"]
    assert codes(cv2.GaussianBlur(phantom.rgb, (0, 0), 3.5)) == ["soft"]
    assert codes(cv2.GaussianBlur(phantom.rgb, (0, 0), 1.5)) == []


def test_too_dark_too_small_grey_and_not_skin(phantom: Phantom) -> None:
    assert codes(phantom.rgb * 0.12) == ["too_dark"]
    assert "too_small" in codes(phantom.rgb[:200, :300])
    grey = np.repeat(phantom.rgb.mean(axis=2, keepdims=True), 3, axis=2)
    assert codes(grey, is_color=False) == ["grayscale"]
    assert "not_scalp" in codes(grey)
    leaf = np.dstack([phantom.rgb[..., 1] * 0.6, phantom.rgb[..., 0], phantom.rgb[..., 2] * 0.5])
    assert "not_scalp" in codes(leaf)
    paper = np.full((600, 800, 3), 0.95, np.float32)
    paper[::40, :] = 0.05  # lines of "text"
    assert "not_scalp" in codes(paper)


def test_glare_is_a_warning(phantom: Phantom) -> None:
    bright = phantom.rgb.copy()
    bright[:400] = 1.0
    report = check_quality(bright)
    assert "glare" in [i.code for i in report.warnings]


def test_original_size_decides_too_small(phantom: Phantom) -> None:
    assert "too_small" in codes(phantom.rgb, original_size=(240, 320))
    assert "too_small" not in codes(phantom.rgb, original_size=(3000, 4000))


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_error_lists_every_blocking_problem_with_advice(phantom: Phantom, lang: str) -> None:
    small_dark = (phantom.rgb * 0.1)[:200, :300]
    with pytest.raises(PhotoQualityError) as info:
        require_quality(check_quality(small_dark))
    text = info.value.message(lang)
    assert text.count("\n\n") == 1  # two problems, two paragraphs
    if lang == "ko":
        assert "어두" in text and "작습니다" in text
    else:
        assert "too dark" in text and "too small" in text
