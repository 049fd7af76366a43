"""How the scalp page words its numbers, in both languages."""

from __future__ import annotations

import pytest

from core.i18n import t
from core.scalp.history import UNKNOWN_VERSION, HistoryEntry
from core.scalp.measure import Analysed
from core.scalp.severity import Evidence
from core.scalp.texts import (
    evidence_text,
    grade_label,
    measurement_rows,
    method_label,
    overlay_numbers,
    short_time,
)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_grades_and_evidence_read_as_values_against_cut_points(lang: str) -> None:
    assert grade_label(None, lang) == t("scalp.grade.none", lang)
    assert grade_label(2, lang) == f"2 · {t('scalp.grade.2', lang)}"
    share = Evidence(key="shine_share", value=0.0312, grade=2, cuts=(0.01, 0.03, 0.06), unit="share",
                     higher_is_worse=True)
    assert evidence_text(share, lang) == t("scalp.evidence.line", lang, name=t("scalp.measure.shine_share", lang),
                                           value="3.12%", sign="≥", cuts="1% / 3% / 6%", grade=2)
    count = Evidence(key="hair_count", value=14.0, grade=1, cuts=(20.0, 15.0, 10.0), unit="count",
                     higher_is_worse=False)
    assert evidence_text(count, lang) == t("scalp.evidence.line", lang, name=t("scalp.measure.hair_count", lang),
                                           value="14", sign="<", cuts="20 / 15 / 10", grade=1)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_overlay_numbers_and_the_table_show_the_measurements(analysed: Analysed, lang: str) -> None:
    m = analysed.measurements
    assert overlay_numbers("pustules", m, lang) == t("scalp.overlay.pustules_numbers", lang, count=m.pustule_count)
    assert overlay_numbers("shine", m, lang) == t("scalp.overlay.shine_numbers", lang, share=f"{m.shine_share * 100:.2f}")
    assert str(m.hair_count) in overlay_numbers("hair", m, lang)
    rows = measurement_rows(m, lang)
    assert rows[t("scalp.measure.hair_count", lang)] == str(m.hair_count)
    assert rows[t("scalp.measure.pustule_count", lang)] == str(m.pustule_count)
    assert rows[t("scalp.measure.shine_share", lang)] == f"{m.shine_share * 100:.2f}%"
    assert m.field_of_view_mm is None and t("scalp.measure.hair_density_per_cm2", lang) not in rows


def _entry(source: str, method: str, version: str) -> HistoryEntry:
    return HistoryEntry(time="2024-05-01T09:30:12+00:00", source=source, method=method, version=version,
                        image_grades={}, final_grades={}, measurements={})


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_history_entry_names_how_it_was_graded(lang: str) -> None:
    assert method_label(_entry("heuristic", "heuristic", "t-2"), lang) == t("scalp.history.method_heuristic", lang,
                                                                             version="t-2")
    unknown = method_label(_entry("model", "scalp-net", UNKNOWN_VERSION), lang)
    assert unknown == t("scalp.history.method_model", lang, name="scalp-net",
                        version=t("scalp.history.version_unknown", lang))
    assert short_time("2024-05-01T09:30:12+00:00") == "2024-05-01 09:30"
