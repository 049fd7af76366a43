"""Placing a line on the shoulder radiograph: a drawing canvas, click-and-drag on the picture, or
typed end points. A line drawn replaces the target line's numbers."""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np
import streamlit as st

from core.shoulder import LevelMeasurement, Line
from core.shoulder.display import LINE_COLOURS, draw_overlay, fabric_line_endpoints
from ui.common import tr
from ui.options import option_labels
from ui.shoulder_state import COORDS, S, bound_number, placed_lines, set_line

CANVAS_WIDTH = 640


def picture_tag(picture: Any) -> str:
    """A short digest of the canvas background. It goes into the canvas's initial drawing, so a
    new picture (a line placed or moved, the window changed) clears the strokes drawn on the old one:
    the canvas then shows the current lines only, never a stroke of a line already replaced."""
    return f"{zlib.crc32(picture.tobytes()):08x}"


def _canvas(picture: Any, target: str, key: str) -> tuple[float, float, float, float] | None:
    from streamlit_drawable_canvas import st_canvas

    st.caption(tr("shoulder.draw.canvas_help"))
    st.space("small")  # the canvas toolbar floats above the canvas: keep it off the help line
    result = st_canvas(background_image=picture, drawing_mode="line", stroke_width=2,
                       stroke_color="#{:02x}{:02x}{:02x}".format(*LINE_COLOURS[target]), width=picture.width,
                       height=picture.height, update_streamlit=True,
                       initial_drawing={"objects": [], "drdc_picture": picture_tag(picture)},
                       key=f"sh_canvas_{key}_{target}")
    objs = [o for o in ((result.json_data or {}).get("objects") or []) if str(o.get("type", "")).lower() == "line"]
    return fabric_line_endpoints(objs[-1]) if objs else None


def _clicks(picture: Any, target: str, key: str) -> tuple[float, float, float, float] | None:
    from streamlit_image_coordinates import streamlit_image_coordinates

    st.caption(tr("shoulder.draw.clicks_help"))
    value = streamlit_image_coordinates(picture, key=f"sh_clicks_{key}_{target}", click_and_drag=True,
                                        cursor="crosshair")
    if value and value.get("x2") is not None:
        k = picture.width / float(value.get("width") or picture.width)  # displayed size may differ
        return (value["x1"] * k, value["y1"] * k, value["x2"] * k, value["y2"] * k)
    return None


def drawing(image_id: str, display: np.ndarray, target: str, levels: dict[str, LevelMeasurement]) -> None:
    """The drawing component for ``target``; a new line drawn there replaces that line's numbers."""
    tool = st.radio(tr("shoulder.draw.tool"), ["canvas", "clicks", "numbers"], horizontal=True, key="sh_tool",
                    format_func=option_labels("shoulder.draw.tool_"))
    h, w = display.shape[:2]
    scale = min(1.0, CANVAS_WIDTH / w)
    picture = draw_overlay(display, placed_lines(), levels, scale=scale)
    new: tuple[float, float, float, float] | None = None
    try:
        if tool == "canvas":
            new = _canvas(picture, target, image_id[:12])
        elif tool == "clicks":
            new = _clicks(picture, target, image_id[:12])
        else:
            st.image(picture, caption=tr("shoulder.draw.numbers_help"))
    except Exception as exc:  # a component that fails to load must not break the page
        st.warning(tr("shoulder.draw.component_failed", detail=type(exc).__name__))
        st.image(picture)
    if new is not None:
        # a component keeps returning its last line: apply it once, so later number edits stick
        seen = S.setdefault("sh_canvas_seen", {})
        marker = (tool, tuple(round(float(v), 1) for v in new))
        if seen.get(target) != marker and math.hypot(new[2] - new[0], new[3] - new[1]) > 3:
            seen[target] = marker
            set_line(target, Line(*(float(v) / scale for v in new)).clipped_to((h, w)))
            # the drawing surface still shows the old line and the strokes drawn so far: draw it again
            # with only the current lines (a new picture empties the canvas, see picture_tag)
            st.rerun()


def numbers(target: str, shape: tuple[int, int]) -> None:
    """The end points of ``target`` as four number inputs."""
    h, w = shape
    for col, coord in zip(st.columns(4), COORDS, strict=True):
        limit = float(w - 1 if coord.startswith("x") else h - 1)
        bound_number(col, tr(f"shoulder.draw.{coord}"), f"{target}_{coord}", 0.0, limit, step=1.0, format="%.1f")
