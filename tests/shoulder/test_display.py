"""Display helpers: window/level, overlays, the canvas line conversion."""

from __future__ import annotations

import numpy as np
import pytest

from core.shoulder.display import apply_window, draw_overlay, fabric_line_endpoints, zoom_view
from core.shoulder.measure import measure_level
from core.shoulder.phantom import PhantomSpec, render_phantom


def test_window_level_maps_the_window_to_the_full_range() -> None:
    ramp = np.linspace(0, 1, 101, dtype=np.float32)[None, :]
    out = apply_window(ramp, centre=0.5, width=0.2)
    assert out[0, 40] == 0 and out[0, 60] == 255 and out[0, 50] in (127, 128)
    assert apply_window(ramp, 0.5, 1.0)[0, -1] == 255


@pytest.mark.parametrize("origin", ["left", "center"])
def test_fabric_line_endpoints(origin: str) -> None:
    # a line drawn from (30, 80) to (130, 60): Fabric stores the bounding box and centre-relative ends
    left, top = (30.0, 60.0) if origin == "left" else (80.0, 70.0)
    obj = {"type": "line", "left": left, "top": top, "width": 100, "height": 20, "originX": origin,
           "originY": "top" if origin == "left" else "center", "x1": -50, "y1": 10, "x2": 50, "y2": -10,
           "scaleX": 1, "scaleY": 1}
    assert fabric_line_endpoints(obj) == pytest.approx((30, 80, 130, 60))
    assert fabric_line_endpoints({"type": "rect"}) is None


def test_overlay_and_zoom_are_rgb_pictures() -> None:
    ph = render_phantom(PhantomSpec(shape=(300, 240), spacing_mm=0.2, outer_d_mm=20, inner_d_mm=13))
    line = ph.line_across(tilt_deg=10)
    lvl = measure_level(ph.image, line, (0.2, 0.2))
    disp = apply_window(ph.image, 0.5, 1.0)
    pic = draw_overlay(disp, {"dti": line}, {"dti": lvl}, scale=0.5)
    assert pic.size == (120, 150) and pic.mode == "RGB"
    arr = np.asarray(pic)
    assert (arr[..., 0] > arr[..., 2] + 80).any()  # the red DTI line is drawn
    zoom = zoom_view(disp, "dti", lvl, size=200)
    assert max(zoom.size) == pytest.approx(200, abs=2)
