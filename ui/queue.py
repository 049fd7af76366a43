"""The notice a person sees while their films wait for a free analysis slot (:mod:`core.slots`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

from ui.common import tr


@contextmanager
def waiting_notice() -> Iterator[Callable[[int], None]]:
    """Yields the ``on_wait(ahead)`` callback for the analyses run in the block: it shows "N ahead of
    you" (or "next") in place, and the notice goes once the block ends."""
    box = st.empty()

    def show(ahead: int) -> None:
        text = tr("chest.queue.next") if ahead == 0 else tr("chest.queue.waiting", ahead=ahead)
        box.info(text, icon=":material/hourglass_top:")

    try:
        yield show
    finally:
        box.empty()
