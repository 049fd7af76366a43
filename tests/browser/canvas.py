"""Drawing on the shoulder page's canvas as a person does, in a real browser.

The drawing surface is rebuilt whenever its background changes (upload, a new index line): a stroke
made while the new surface is still mounting is lost, as a person would see. :func:`draw_until`
draws once the page is idle and the canvas has stopped moving, waits for the stroke's effect, and
otherwise does what a person would: switches the drawing tool to typed numbers and back, then draws
again (at most ``tries`` times).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.i18n import t
from tests.browser.conftest import wait_for_app


def settled_box(page: Any, canvas: Any) -> dict[str, float] | None:
    """The canvas's box once the page is idle and the canvas has stopped moving (a run that adds or
    removes something above it shifts it: a stroke drawn at the old place would land elsewhere)."""
    wait_for_app(page)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for _ in range(40):
        page.wait_for_timeout(400)
        canvas.scroll_into_view_if_needed()
        again = canvas.bounding_box()
        if box is not None and again == box:
            return box
        box = again
    return box


def stroke(page: Any, box: dict[str, float], y_frac: float, slope_px: float = 0.0) -> None:
    """A mouse stroke across 65 % of the canvas width at ``y_frac`` of its height."""
    y = box["y"] + box["height"] * y_frac
    page.mouse.move(box["x"] + box["width"] * 0.18, y)
    page.mouse.down()
    for k in range(1, 13):
        page.mouse.move(box["x"] + box["width"] * (0.18 + 0.054 * k), y + k * slope_px)
    page.mouse.up()


def draw_until(page: Any, draw: Callable[[dict[str, float]], None], applied: Callable[[], bool],
               tries: int = 5, wait_ms: int = 30_000, lang: str = "ko") -> dict[str, float] | None:
    """Draw with ``draw(box)`` until ``applied()`` (polled every 300 ms for ``wait_ms``); the box drawn
    on when it worked, None when no try worked."""
    for _attempt in range(tries):
        canvas = page.locator("canvas").last
        canvas.wait_for(timeout=90_000)
        box = settled_box(page, canvas)
        assert box is not None
        draw(box)
        for _ in range(max(1, wait_ms // 300)):
            if applied():
                return box
            page.wait_for_timeout(300)
        # the stroke never reached the server (seen in full-suite runs under load): bring the drawing
        # tool back as a person would, by switching to typed numbers and back
        wait_for_app(page)
        for tool in ("numbers", "canvas"):
            page.get_by_text(t(f"shoulder.draw.tool_{tool}", lang), exact=True).click()
            wait_for_app(page)
        page.wait_for_timeout(1500)
    return None
