"""Issue 14 on the shoulder page, in a real browser: a colour photo (a cat) is refused before
anything can be drawn or measured, and after a new index line is drawn only that line is on the
drawing surface (the old one used to stay)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.i18n import t
from core.shoulder.display import LINE_COLOURS
from core.shoulder.phantom import PhantomSpec, render_phantom
from tests.browser.canvas import draw_until, settled_box, stroke
from tests.browser.conftest import shot, wait_for_app
from tests.shoulder.test_gate import colour_photo, encode

pytestmark = pytest.mark.browser

LANG = "ko"
SPEC = PhantomSpec(shape=(400, 300), spacing_mm=0.2, outer_d_mm=20.0, inner_d_mm=13.0, axis_deg=3.0, seed=3)


def test_a_colour_photo_is_refused_on_the_shoulder_page(app_url: str, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(encode(colour_photo(), "JPEG"))
    page.goto(app_url + "/shoulder")
    wait_for_app(page)
    page.locator("input[type=file]").first.set_input_files(str(photo))
    message = t("shoulder.gate.colour", LANG)
    page.wait_for_function(
        "t => [...document.querySelectorAll(\"[data-testid='stAlertContentError']\")].some(e => e.textContent.includes(t))",
        arg=message, timeout=90_000,
    )
    wait_for_app(page)
    shot(page, "shoulder-colour-photo-refused")
    assert page.get_by_text(t("shoulder.gate.needs_radiograph", LANG)).count() == 1
    # nothing to draw on and nothing measured
    assert page.get_by_role("heading", name=t("shoulder.draw.title", LANG)).count() == 0
    assert page.locator("canvas").count() == 0
    assert page.get_by_test_id("stMetric").count() == 0
    assert page.get_by_test_id("stException").count() == 0
    assert not page.errors, page.errors


def _red_rows(canvas) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Rows (fractions of its height) of the drawing surface, as shown, that hold pixels of the DTI
    line's colour. An element screenshot: Playwright scrolls the canvas into view and waits until it
    stops moving, so a late layout shift cannot slide the clip off the canvas (a page screenshot
    clipped to an earlier bounding box once read the current line 56 px too low on a CI runner)."""
    png = canvas.screenshot(timeout=30_000)
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    r, g, b = LINE_COLOURS["dti"]
    close = (abs(rgb[..., 0] - r) < 40) & (abs(rgb[..., 1] - g) < 50) & (abs(rgb[..., 2] - b) < 50)
    return np.flatnonzero(close.sum(axis=1) >= 20) / rgb.shape[0]  # a line across the shaft, not a stray pixel


def _only_line_at(rows: np.ndarray, y_frac: float) -> bool:
    return bool(rows.size) and bool(np.all(np.abs(rows - y_frac) < 0.08))


def test_only_the_current_index_line_stays_on_the_canvas(app_url: str, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "phantom.png"
    Image.fromarray((render_phantom(SPEC).image * 255).astype(np.uint8)).save(path)
    page.goto(app_url + "/shoulder")
    wait_for_app(page)
    page.locator("input[type=file]").first.set_input_files(str(path))
    wait_for_app(page)
    # the input the page set gets a new key (ui/shoulder_state.py): the one it replaces stays in the page,
    # hidden, until the run ends; read the one a person sees
    y1_box = page.get_by_label("y1 (세로)").filter(visible=True).first
    for y_frac in (0.65, 0.35):
        # the canvas is rebuilt when its background changes (that is the fix under test): a stroke made
        # while the new one is still mounting is lost, as a person would see, so draw again (<= 5 tries,
        # each once the page is idle and the canvas has stopped moving)
        def applied(y_frac: float = y_frac) -> bool:  # the drawn line went into the end points (image pixels)
            value = y1_box.input_value() if y1_box.count() else ""
            return bool(value) and abs(float(value) - SPEC.shape[0] * y_frac) < 4

        if draw_until(page, lambda box, y_frac=y_frac: stroke(page, box, y_frac), applied, lang=LANG) is None:
            shot(page, f"shoulder-canvas-{y_frac}")
            raise AssertionError(f"the line drawn at {y_frac} was not applied (y1 = {y1_box.input_value()!r})")
        wait_for_app(page)
        page.wait_for_timeout(1500)  # the new canvas loads its background
    # what a person sees once the page has settled: only the current line. Read until two readings in a
    # row agree (a rerun may still be redrawing); an old line that stays fails, however long we look.
    canvas = page.locator("canvas").last
    assert settled_box(page, canvas) is not None
    rows, before = _red_rows(canvas), None
    for _ in range(20):
        if before is not None and _only_line_at(rows, 0.35) and _only_line_at(before, 0.35):
            break
        page.wait_for_timeout(500)
        before, rows = rows, _red_rows(canvas)
    shot(page, "shoulder-canvas-one-line")
    assert rows.size, "the current line is not on the canvas"
    assert _only_line_at(rows, 0.35), f"a line other than the current one is on the canvas: rows {rows}"
    assert not page.errors, page.errors
