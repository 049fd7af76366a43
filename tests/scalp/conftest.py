"""Phantoms shared by the scalp tests (drawn once per session: each takes about a second)."""

from __future__ import annotations

import pytest

from core.scalp.measure import Analysed, measure
from core.scalp.synthetic import Phantom, make_phantom


@pytest.fixture(scope="session")
def phantom() -> Phantom:
    """20 hairs of 7 px, fine and large flakes, 3 red blotches (a* 30), 3 pustules, shine spots."""
    return make_phantom(seed=1, hairs=20, pustules=3)


@pytest.fixture(scope="session")
def analysed(phantom: Phantom) -> Analysed:
    return measure(phantom.rgb)
