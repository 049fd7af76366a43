"""The shoulder page's number inputs bound to its stored values (ui/shoulder_state.py), with the
session state replaced by a plain dict and the browser's rerun requests written by hand.

The case that matters: the page sets a line (drawn on the canvas), and the next rerun request still
carries the number the browser showed before (sent before the browser drew the new one, as a real
browser under load did in CI). That stale number must not move the line back; a number typed into
the input drawn with the new value must."""

from __future__ import annotations

from typing import Any

import pytest

import ui.shoulder_state as state
from core.shoulder import Line


class _Column:
    """Records the number inputs drawn in it, as Streamlit would register them."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def number_input(self, label: str, *, key: str, **_: Any) -> None:
        self.keys.append(key)


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    fake: dict[str, Any] = {}
    monkeypatch.setattr(state, "S", fake)
    return fake


def _run(session: dict[str, Any], col: _Column) -> str:
    """One script run: pull what the browser sent, then draw y1 of the DTI line; its key."""
    state.pull_widgets()
    state.bound_number(col, "y1", "dti_y1", 0.0, 399.0)
    return col.keys[-1]


def test_a_stale_number_sent_after_the_page_set_the_line_is_ignored(session: dict[str, Any]) -> None:
    col = _Column()
    state.set_line("dti", Line(54.0, 259.1, 248.0, 259.1))  # the line drawn at 0.65
    first = _run(session, col)
    assert session[first] == pytest.approx(259.1)
    # a new line drawn on the canvas: the page sets it before the numbers are drawn
    state.set_line("dti", Line(54.0, 139.1, 248.0, 139.1))
    second = _run(session, col)
    assert second != first, "the page's own change must give the input a new key"
    assert session[second] == pytest.approx(139.1)
    # the next request still carries the number the browser showed before, under the old key
    session[first] = 259.1
    _run(session, col)
    assert state.get_line("dti") == Line(54.0, 139.1, 248.0, 139.1)


def test_a_typed_number_still_moves_the_line(session: dict[str, Any]) -> None:
    col = _Column()
    state.set_line("dti", Line(54.0, 259.1, 248.0, 259.1))
    key = _run(session, col)
    session[key] = 200.0  # typed by the person into the input they see
    again = _run(session, col)
    assert again == key, "a typed edit keeps the input (and its focus) where it is"
    assert state.value("dti_y1") == pytest.approx(200.0)
    assert session[again] == pytest.approx(200.0)


def test_with_one_key_per_value_the_stale_number_would_win(session: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The same sequence with the key fixed (as before the fix) moves the line back: the test above
    checks the behaviour that fails without new keys."""
    monkeypatch.setattr(state, "widget_key", lambda name: state.WIDGET_PREFIX + name)
    col = _Column()
    state.set_line("dti", Line(54.0, 259.1, 248.0, 259.1))
    first = _run(session, col)
    state.set_line("dti", Line(54.0, 139.1, 248.0, 139.1))
    assert _run(session, col) == first
    session[first] = 259.1
    _run(session, col)
    assert state.value("dti_y1") == pytest.approx(259.1)
