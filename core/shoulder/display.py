"""Pictures for the page and the report: window/level, lines and edges drawn over the image,
the profile with its fitted edges. Display only: measurements always use the original pixels."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from core.settings import PROJECT_ROOT
from core.shoulder.measure import LevelMeasurement
from core.shoulder.profile import Line

LINE_COLOURS: dict[str, tuple[int, int, int]] = {
    "dti": (255, 80, 80),
    "cct1": (80, 200, 255),
    "cct2": (120, 255, 120),
    "calib": (255, 210, 60),
}
KOREAN_FONT = PROJECT_ROOT / "assets" / "fonts" / "NotoSansKR-Regular-subset.otf"
EDGE_COLOURS = [(255, 255, 0), (255, 0, 255), (255, 0, 255), (255, 255, 0)]


def apply_window(gray: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Window/level a [0, 1] grayscale image to uint8 (``centre`` and ``width`` in [0, 1] units)."""
    width = max(float(width), 1e-3)
    lo = centre - width / 2.0
    out = np.clip((gray.astype(np.float32) - lo) / width, 0.0, 1.0)
    return (out * 255.0 + 0.5).astype(np.uint8)


def draw_overlay(
    display: np.ndarray,
    lines: dict[str, Line],
    levels: dict[str, LevelMeasurement] | None = None,
    scale: float = 1.0,
) -> Image.Image:
    """RGB picture of ``display`` (uint8 gray) resized by ``scale`` with lines and found edges."""
    img = Image.fromarray(display).convert("RGB")
    if scale != 1.0:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(img)
    lw = max(1, round(2 * max(scale, 0.5)))
    for name, line in lines.items():
        colour = LINE_COLOURS.get(name, (255, 255, 255))
        draw.line([(line.x1 * scale, line.y1 * scale), (line.x2 * scale, line.y2 * scale)], fill=colour, width=lw)
        lvl = (levels or {}).get(name)
        if lvl is None:
            continue
        if lvl.corrected:
            el = lvl.edges.line
            draw.line([(el.x1 * scale, el.y1 * scale), (el.x2 * scale, el.y2 * scale)], fill=colour, width=1)
        n = lvl.edges.line.normal
        tick = max(4.0, 6.0 * scale)
        for (x, y), c in zip(lvl.edges.points(), EDGE_COLOURS, strict=True):
            px, py = x * scale, y * scale
            draw.line([(px - n[0] * tick, py - n[1] * tick), (px + n[0] * tick, py + n[1] * tick)], fill=c, width=lw)
    return img


def crop_around(line: Line, shape: tuple[int, int], pad: float = 0.35) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) crop box around a line with ``pad`` * length margin, inside the image."""
    h, w = shape
    margin = pad * line.length + 10
    x0 = int(max(0, min(line.x1, line.x2) - margin))
    y0 = int(max(0, min(line.y1, line.y2) - margin))
    x1 = int(min(w, max(line.x1, line.x2) + margin + 1))
    y1 = int(min(h, max(line.y1, line.y2) + margin + 1))
    return x0, y0, x1, y1


def zoom_view(display: np.ndarray, name: str, level: LevelMeasurement, size: int = 360) -> Image.Image:
    """A close-up of one level: the crop around its line, enlarged, with the edges marked."""
    x0, y0, x1, y1 = crop_around(level.user_line, display.shape[:2])
    crop = display[y0:y1, x0:x1]
    scale = size / max(crop.shape)
    shifted = {name: level.user_line.moved(-x0, -y0)}
    moved_edges = level.edges.line.moved(-x0, -y0)
    from dataclasses import replace

    lvl = replace(level, user_line=shifted[name], edges=replace(level.edges, line=moved_edges))
    return draw_overlay(crop, shifted, {name: lvl}, scale=scale)


def profile_png(level: LevelMeasurement, title: str, xlabel: str, ylabel: str) -> bytes:
    """PNG of the intensity profile with the four edges marked (labels passed in translated)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties

    font = FontProperties(fname=str(KOREAN_FONT), size=8) if KOREAN_FONT.is_file() else FontProperties(size=8)
    prof = level.profile
    scale = level.mm_per_px or 1.0
    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
    ax.plot(prof.s * scale, prof.values, color="#333", lw=1)
    for s, c in zip(level.edges.s, ["#c90", "#c0c", "#c0c", "#c90"], strict=True):
        ax.axvline(s * scale, color=c, lw=1.2, ls="--")
    ax.set_title(title, fontproperties=font)
    ax.set_xlabel(xlabel, fontproperties=font)
    ax.set_ylabel(ylabel, fontproperties=font)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def to_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def fabric_line_endpoints(obj: dict) -> tuple[float, float, float, float] | None:
    """End points (x1, y1, x2, y2) in canvas pixels of a Fabric.js ``line`` object as returned by
    ``streamlit-drawable-canvas`` (``left``/``top`` at the origin, ``x1..y2`` relative to the centre)."""
    if str(obj.get("type", "")).lower() != "line":
        return None
    sx, sy = float(obj.get("scaleX", 1) or 1), float(obj.get("scaleY", 1) or 1)
    w, h = float(obj.get("width", 0)) * sx, float(obj.get("height", 0)) * sy
    ox = {"left": 0.0, "center": 0.5, "right": 1.0}.get(obj.get("originX", "left"), 0.0)
    oy = {"top": 0.0, "center": 0.5, "bottom": 1.0}.get(obj.get("originY", "top"), 0.0)
    cx = float(obj.get("left", 0)) + (0.5 - ox) * w
    cy = float(obj.get("top", 0)) + (0.5 - oy) * h
    x1, y1 = float(obj.get("x1", 0)) * sx, float(obj.get("y1", 0)) * sy
    x2, y2 = float(obj.get("x2", 0)) * sx, float(obj.get("y2", 0)) * sy
    return (cx + x1, cy + y1, cx + x2, cy + y2)
