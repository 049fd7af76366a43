"""A person uploads a shoulder radiograph (a phantom with known dimensions), draws a line across the
shaft with the mouse on the drawing canvas, and reads the deltoid tuberosity index."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.i18n import t
from core.shoulder.phantom import PhantomSpec, render_phantom
from tests.browser.canvas import draw_until, stroke
from tests.browser.conftest import shot, wait_for_app

SPEC = PhantomSpec(shape=(400, 300), spacing_mm=0.2, outer_d_mm=20.0, inner_d_mm=13.0, axis_deg=3.0, seed=3)


@pytest.fixture()
def phantom_png(tmp_path: Path) -> Path:
    path = tmp_path / "shoulder_phantom.png"
    Image.fromarray((render_phantom(SPEC).image * 255).astype(np.uint8)).save(path)
    return path


def _metric_value(page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has_text=label).first
    return metric.get_by_test_id("stMetricValue").inner_text().strip()


def test_upload_draw_a_line_and_read_the_index(app_url: str, page, phantom_png: Path) -> None:
    page.goto(app_url + "/shoulder")
    wait_for_app(page)
    page.get_by_role("heading", name=t("app.page.shoulder", "ko")).first.wait_for()
    page.locator("input[type=file]").first.set_input_files(str(phantom_png))
    wait_for_app(page)
    label = t("shoulder.result.dti", "ko")
    shown = ("(label) => [...document.querySelectorAll('[data-testid=stMetric]')]"
             ".some(m => m.innerText.includes(label) && /\\d\\.\\d\\d/.test(m.innerText))")

    def at_image_size_then_stroke(box: dict[str, float]) -> None:
        assert box["width"] == pytest.approx(300, abs=2)  # the drawing surface is shown at the image's own size
        stroke(page, box, 0.5, slope_px=0.4)

    box = draw_until(page, at_image_size_then_stroke, lambda: bool(page.evaluate(shown, label)))
    if box is None:
        shot(page, "shoulder-line-not-applied")
        raise AssertionError("the drawn line never gave a deltoid tuberosity index")
    wait_for_app(page)
    value = _metric_value(page, label)
    assert re.fullmatch(r"\d\.\d\d", value), value
    assert float(value) == pytest.approx(SPEC.true_dti, rel=0.03)
    # the drawn line went into the numeric end points (pixels), where it can be adjusted precisely
    # (the input the page set gets a new key: the one it replaces stays hidden until the run ends)
    x1 = float(page.get_by_label("x1 (가로)").filter(visible=True).first.input_value())
    assert x1 == pytest.approx(0.18 * 300, abs=3)
    assert page.get_by_test_id("stException").count() == 0
    shot(page, "shoulder_line_ko")
    assert not page.errors, page.errors
