"""Screening categories against the published thresholds."""

from __future__ import annotations

import pytest

from core.shoulder.screening import (
    CCT_HIGH_MM,
    CCT_LOW_MM,
    DTI_THRESHOLD,
    REFERENCES,
    classify_cct,
    classify_dti,
    mean_cct,
    screen,
)


@pytest.mark.parametrize(("dti", "cat"), [(1.2, "low"), (1.399, "low"), (1.40, "borderline"), (1.44, "borderline"),
                                          (1.45, "not_low"), (1.9, "not_low"), (None, "unavailable")])
def test_dti_categories(dti: float | None, cat: str) -> None:
    f = classify_dti(dti)
    assert f.category == cat and f.threshold == DTI_THRESHOLD and f.reference == "spross2015"


@pytest.mark.parametrize(("cct", "cat", "ref"), [(3.2, "low", "tingart2003"), (4.0, "borderline", "mather2013"),
                                                 (5.99, "borderline", "mather2013"), (6.0, "not_low", "mather2013"),
                                                 (None, "unavailable", "tingart2003")])
def test_cct_categories(cct: float | None, cat: str, ref: str) -> None:
    f = classify_cct(cct)
    assert (f.category, f.reference) == (cat, ref)
    assert CCT_LOW_MM == 4.0 and CCT_HIGH_MM == 6.0


def test_overall_is_the_worst_measured_and_advises_dxa_when_low_or_borderline() -> None:
    assert screen(1.3, 7.0).category == "low" and screen(1.3, 7.0).advise_dxa
    assert screen(1.6, 3.5).category == "low"
    assert screen(1.6, 5.0).category == "borderline" and screen(1.6, 5.0).advise_dxa
    assert screen(1.6, None).category == "not_low" and not screen(1.6, None).advise_dxa
    assert screen(None, None).category == "unavailable" and not screen(None, None).advise_dxa


def test_mean_cct_and_references() -> None:
    assert mean_cct([4.0, 5.0]) == 4.5
    assert mean_cct([None, 5.0]) == 5.0
    assert mean_cct([None]) is None
    assert set(REFERENCES) == {"spross2015", "tingart2003", "mather2013"}
    assert "2015;473" in REFERENCES["spross2015"]
