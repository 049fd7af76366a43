"""The shoulder page's sequence without Streamlit: the demo image, spacing sources, memoised
measuring, Tingart's second level and the summary the page shows."""

from __future__ import annotations

import numpy as np
import pytest

from core.i18n import t
from core.shoulder.measure import measure_level
from core.shoulder.phantom import DEMO_SPEC
from core.shoulder.profile import Line, MeasurementError
from core.shoulder.workflow import (
    DEMO_ID,
    MeasureOptions,
    ShoulderImage,
    demo_image,
    level2_line,
    level_caption,
    measure_lines,
    resolve_spacing,
    spacing_modes,
    summarise,
)


@pytest.fixture(scope="module")
def demo() -> tuple[ShoulderImage, dict[str, Line]]:
    return demo_image()


def test_the_demo_is_the_phantom_with_its_truth_and_preset_levels(demo) -> None:
    image, lines = demo
    assert image.id == DEMO_ID and image.is_demo and not image.odd_view
    assert image.gray.dtype == np.float32 and image.gray.shape == DEMO_SPEC.shape
    assert image.truth == (DEMO_SPEC.true_dti, DEMO_SPEC.true_cct_mm)
    assert set(lines) == {"dti", "cct1", "cct2"}
    assert ShoulderImage(gray=image.gray, spacing=None, id="x", format="DICOM", view="LAT").odd_view
    assert not ShoulderImage(gray=image.gray, spacing=None, id="x", format="DICOM", view="ap").odd_view


def test_spacing_comes_from_the_image_a_known_object_or_nowhere(demo) -> None:
    image, _ = demo
    assert spacing_modes(image) == ["phantom", "none", "object"]
    plain = ShoulderImage(gray=image.gray, spacing=None, id="x", format="PNG")
    assert spacing_modes(plain) == ["none", "object"]
    dicom = ShoulderImage(gray=image.gray, spacing=(0.2, 0.2), id="y", format="DICOM")
    assert spacing_modes(dicom)[0] == "dicom" and resolve_spacing("dicom", dicom, None, 0.0) == ((0.2, 0.2), "dicom")
    ruler = Line(10.0, 10.0, 110.0, 10.0)  # 100 px
    spacing, source = resolve_spacing("object", plain, ruler, 25.0)
    assert source == "object" and spacing == pytest.approx((0.25, 0.25))
    assert resolve_spacing("object", plain, None, 25.0) == (None, "none")
    assert resolve_spacing("object", plain, ruler, 0.0) == (None, "none")
    assert resolve_spacing("none", image, ruler, 25.0) == (None, "none")


def test_measuring_finds_the_phantoms_values_and_reuses_the_memo(demo) -> None:
    image, lines = demo
    memo: dict = {}
    options = MeasureOptions()
    levels, errors = measure_lines(image.gray, lines, image.spacing, options, memo, image.id)
    assert not errors and set(levels) == {"dti", "cct1", "cct2"} and len(memo) == 3
    summary = summarise(levels)
    assert summary.dti == pytest.approx(DEMO_SPEC.true_dti, rel=0.03)
    assert summary.cct == pytest.approx(DEMO_SPEC.true_cct_mm, rel=0.05)
    assert summary.cct_levels == 2 and not summary.provisional and not summary.cct_needs_spacing
    assert summary.screening.category == "low"
    # the same lines again: nothing is measured anew (the memo's objects come back)
    again, _ = measure_lines(image.gray, lines, image.spacing, options, memo, image.id)
    assert all(again[n] is levels[n] for n in levels) and len(memo) == 3
    # another method is another memo entry
    measure_lines(image.gray, {"dti": lines["dti"]}, image.spacing, MeasureOptions(method="gradient"), memo, image.id)
    assert len(memo) == 4


def test_a_line_off_the_bone_gives_its_error_and_one_level_is_provisional(demo) -> None:
    image, lines = demo
    off = Line(2.0, 2.0, 3.0, 3.0)  # too short to measure
    levels, errors = measure_lines(image.gray, {"dti": off, "cct1": lines["cct1"]}, image.spacing, MeasureOptions(),
                                   {}, image.id)
    assert set(errors) == {"dti"} and isinstance(errors["dti"], MeasurementError) and set(levels) == {"cct1"}
    summary = summarise(levels)
    assert summary.dti is None and summary.provisional and summary.cct_levels == 1
    no_mm, _ = measure_lines(image.gray, {"cct1": lines["cct1"]}, None, MeasureOptions(), {}, image.id)
    blind = summarise(no_mm)
    assert blind.cct is None and blind.cct_needs_spacing and blind.screening.category == "unavailable"
    assert summarise({}).screening.category == "unavailable" and not summarise({}).cct_needs_spacing


def test_level_two_lies_20_mm_down_the_shaft_and_needs_millimetres(demo) -> None:
    image, lines = demo
    line = level2_line(image.gray, lines["cct1"], image.spacing, 5.0)
    first = lines["cct1"]
    mid = lambda ln: np.array([(ln.x1 + ln.x2) / 2, (ln.y1 + ln.y2) / 2])  # noqa: E731
    assert np.linalg.norm(mid(line) - mid(first)) * DEMO_SPEC.spacing_mm == pytest.approx(20.0, abs=1.5)
    with pytest.raises(MeasurementError) as err:
        level2_line(image.gray, lines["cct1"], None, 5.0)
    assert err.value.key == "shoulder.error.needs_spacing"
    with pytest.raises(MeasurementError):
        level2_line(image.gray, None, image.spacing, 5.0)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_level_caption_names_method_fit_and_tilt(demo, lang: str) -> None:
    image, lines = demo
    lvl = measure_level(image.gray, lines["dti"], image.spacing)
    caption = level_caption(lvl, lang)
    assert caption.startswith(t("shoulder.edges.method", lang, method=t(f"shoulder.method.{lvl.edges.method}", lang)))
    assert lvl.tilt is not None
    key = "shoulder.edges.tilt_corrected" if lvl.corrected else "shoulder.edges.tilt"
    assert t(key, lang, deg=f"{lvl.tilt.degrees:+.1f}") in caption
