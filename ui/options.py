"""Labels of select, radio and multiselect options from the translation files."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.i18n import t
from ui.common import lang


def option_labels(prefix: str) -> Callable[[Any], str]:
    """``format_func`` for options whose labels are the keys ``prefix + value``, in the language of
    this run (bound now, so AppTest formats them the same)."""
    code = lang()
    return lambda value: t(prefix + str(value), code)
