"""Session state of the shoulder page: the placed lines and the numbers bound to widgets, the
upload kept under the session's memory budget, and the hand-moved edges.

Values that must outlive their widgets (Streamlit drops a widget's state in runs where it is not
drawn, e.g. the end points of the line not being placed) live in a plain dict; widgets are bound
to it: their state is pulled in at the start of a run and pushed out just before they are drawn.

A value set by the page (a line drawn on the canvas, a preset, new automatic edges) gives its number
input a new key. The browser reports every widget's value with each rerun request, and a request sent
before the browser has drawn the new number (the canvas asks for a rerun as soon as it has cleared
itself, which can come first under load) still carries the old one: under the same key that old
number would be taken as a typed edit and the line would jump back to the one it replaced.
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from core.errors import UserError
from core.imaging.compact import load_compact
from core.session_memory import UploadStore
from core.shoulder import LevelMeasurement, Line, MeasurementError, remeasure_with_edges
from core.shoulder.workflow import LINES, MAX_SIDE, ShoulderImage, demo_image, from_input

COORDS = ("x1", "y1", "x2", "y2")
STORE = "sh_store"
WIDGET_PREFIX = "sh_in_"
GENERATIONS = "sh_key_generation"
S = st.session_state



def _store() -> dict[str, float]:
    return S.setdefault(STORE, {})


def value(name: str, default: float = 0.0) -> float:
    """A stored number (a line end point, an edge, the calibration length)."""
    return float(_store().get(name, default))


def key_for(name: str, generation: int) -> str:
    """The key of the number input bound to ``name`` once the page has set it ``generation`` times:
    ``sh_in_<name>``, then ``sh_in_<name>~<generation>`` (see the module docstring)."""
    return WIDGET_PREFIX + name + (f"~{generation}" if generation else "")


def widget_key(name: str) -> str:
    """The current key of the number input bound to ``name``."""
    return key_for(name, S.setdefault(GENERATIONS, {}).get(name, 0))


def pull_widgets() -> None:
    """Copy the values of the bound widgets drawn in the previous run into the store."""
    for name, key in S.get("sh_drawn", []):
        current = S.get(key)
        if current is not None and key == widget_key(name):
            _store()[name] = float(current)
    S["sh_drawn"] = []


def bound_number(col: Any, label: str, name: str, lo: float, hi: float, **kw: Any) -> None:
    """A number input bound to the stored value ``name`` (clamped to [lo, hi])."""
    key = widget_key(name)
    S[key] = min(max(value(name), lo), hi)
    col.number_input(label, min_value=lo, max_value=hi, key=key, **kw)
    S["sh_drawn"].append((name, key))


def put(name: str, number: float) -> None:
    """Store a value set by the page; its number input gets a new key (see the module docstring)."""
    _store()[name] = float(number)
    generations = S.setdefault(GENERATIONS, {})
    generations[name] = generations.get(name, 0) + 1


def set_line(name: str, line: Line | None) -> None:
    coords = line.as_tuple() if line is not None else (0.0, 0.0, 0.0, 0.0)
    for coord, v in zip(COORDS, coords, strict=True):
        put(f"{name}_{coord}", round(v, 1))


def get_line(name: str) -> Line | None:
    """The stored line ``name``; ``None`` when it is not placed (shorter than a pixel)."""
    line = Line(*(value(f"{name}_{c}") for c in COORDS))
    return line if line.length >= 1.0 else None


def placed_lines() -> dict[str, Line]:
    return {n: ln for n in LINES if (ln := get_line(n)) is not None}


def reset_for(image_id: str, presets: dict[str, Line]) -> None:
    """A new image: its preset lines (none for an upload), no hand-moved edges."""
    if S.get("sh_image_id") == image_id:
        return
    S["sh_image_id"] = image_id
    for name in LINES:
        set_line(name, presets.get(name))
        S.pop(f"sh_{name}_manual", None)
        S.pop(f"sh_{name}_edges_for", None)
    S.pop("sh_canvas_seen", None)


def apply_manual(name: str, lvl: LevelMeasurement) -> LevelMeasurement:
    """The level with the hand-moved edges when that level's toggle is on; new automatic edges
    (another line or method) reset the edge inputs to them."""
    stamp = (lvl.edges.line.as_tuple(), lvl.edges.method)
    if S.get(f"sh_{name}_edges_for") != stamp:
        S[f"sh_{name}_edges_for"] = stamp
        for i, v in enumerate(lvl.edges.s):
            put(f"{name}_e{i}", round(v, 2))
    if not S.get(f"sh_{name}_manual"):
        return lvl
    try:
        return remeasure_with_edges(lvl, [value(f"{name}_e{i}") for i in range(4)])
    except MeasurementError:
        return lvl


# --- input ---------------------------------------------------------------------------------------
def _decode(data: bytes, filename: str) -> Any:
    try:
        return load_compact(data, filename, max_side=MAX_SIDE)
    except UserError as err:
        return err


def load(data: bytes, filename: str) -> ShoulderImage:
    """The upload as the page uses it; the session keeps one float16 copy (long side at most
    4096 px, spacing scaled to match) under its memory budget.

    Raises:
        UserError: the file cannot be read as an image (the loader's translated error).
    """
    store = S.setdefault("sh_uploads", UploadStore())
    digest = hashlib.sha256(data).hexdigest()
    store.forget_except({digest})  # one image at a time on this page
    kept = store.image(digest, lambda: _decode(data, filename), revive=True)
    if isinstance(kept, UserError):
        raise kept
    return from_input(kept.to_input())


@st.cache_data(show_spinner=False)
def demo() -> tuple[ShoulderImage, dict[str, tuple[float, float, float, float]]]:
    """The phantom and its preset lines (built once per server)."""
    image, lines = demo_image()
    return image, {k: v.as_tuple() for k, v in lines.items()}
