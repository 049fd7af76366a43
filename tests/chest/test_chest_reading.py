"""Operating-point presets, the uncertain band and certainty."""

from __future__ import annotations

import pytest

from core.chest.reading import BAND, PRESETS, OperatingPoint


def test_presets_are_ordered_and_balanced_is_the_published_point() -> None:
    assert PRESETS["sensitive"] < PRESETS["balanced"] == 0.5 < PRESETS["specific"]
    with pytest.raises(KeyError):
        OperatingPoint.of("aggressive")


@pytest.mark.parametrize(("p", "status", "certainty"), [
    (0.95, "positive", "high"), (0.75, "positive", "high"), (0.62, "positive", "moderate"),
    (0.60, "positive", "moderate"), (0.55, "uncertain", "low"), (0.45, "uncertain", "low"),
    (0.40, "negative", "moderate"), (0.10, "negative", "high"),
])
def test_balanced_status_and_certainty(p: float, status: str, certainty: str) -> None:
    op = OperatingPoint.of("balanced")
    assert op.band == BAND
    assert op.status(p) == status and op.certainty(p) == certainty


def test_presets_move_the_band() -> None:
    p = 0.47
    assert OperatingPoint.of("sensitive").status(p) == "positive"
    assert OperatingPoint.of("balanced").status(p) == "uncertain"
    assert OperatingPoint.of("specific").status(p) == "negative"
