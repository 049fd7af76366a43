"""How the scalp page words its numbers: grade labels, the evidence behind a grade, the numbers
under each overlay, the measurement table and how a history entry was graded. Every text comes
from the translation files (``scalp.*``) in the language given."""

from __future__ import annotations

from core.i18n import t
from core.scalp.history import UNKNOWN_VERSION, HistoryEntry
from core.scalp.measure import Measurements
from core.scalp.severity import Evidence


def grade_label(grade: int | None, lang: str) -> str:
    """``"2 · moderate"``, or "not graded" for ``None``."""
    return t("scalp.grade.none", lang) if grade is None else f"{grade} · {t(f'scalp.grade.{grade}', lang)}"


def evidence_text(e: Evidence, lang: str) -> str:
    """One indicator behind a grade: its value against the cut points, and the grade it gives."""
    if e.unit == "share":
        value = f"{e.value * 100:.2f}%"
        cuts = " / ".join(f"{c * 100:g}%" for c in e.cuts)
    elif e.unit == "count":
        value, cuts = f"{e.value:.0f}", " / ".join(f"{c:g}" for c in e.cuts)
    else:
        value, cuts = f"{e.value:.1f}", " / ".join(f"{c:g}" for c in e.cuts)
    sign = "≥" if e.higher_is_worse else "<"
    return t("scalp.evidence.line", lang, name=t(f"scalp.measure.{e.key}", lang), value=value, sign=sign,
             cuts=cuts, grade=e.grade)


def overlay_numbers(name: str, m: Measurements, lang: str) -> str:
    """The numbers under overlay ``name`` (``hair``, ``redness``, ``shine``, ``flakes``, ``pustules``)."""
    if name == "hair":
        width = "-" if m.hair_width_px is None else f"{m.hair_width_px:.1f}"
        return t("scalp.overlay.hair_numbers", lang, count=m.hair_count, width=width,
                 thin=f"{(m.thin_hair_share or 0) * 100:.0f}")
    if name == "redness":
        fol = "-" if m.a_star_follicular is None else f"{m.a_star_follicular:.1f}"
        return t("scalp.overlay.redness_numbers", lang, between=f"{m.a_star_between:.1f}", around=fol,
                 share=f"{m.erythema_share * 100:.1f}")
    if name == "shine":
        return t("scalp.overlay.shine_numbers", lang, share=f"{m.shine_share * 100:.2f}")
    if name == "flakes":
        return t("scalp.overlay.flakes_numbers", lang, fine=f"{m.fine_scale_share * 100:.2f}",
                 large=f"{m.dandruff_share * 100:.2f}", count=m.flake_count)
    return t("scalp.overlay.pustules_numbers", lang, count=m.pustule_count)


def measurement_rows(m: Measurements, lang: str) -> dict[str, str]:
    """The measurement table: label -> value (the physical values only with a field of view)."""
    def k(key: str) -> str:
        return t(f"scalp.measure.{key}", lang)

    rows = {
        k("hair_count"): f"{m.hair_count}",
        k("hair_width_px"): "-" if m.hair_width_px is None else
        f"{m.hair_width_px:.1f} px ({(m.hair_width_frac or 0) * 100:.2f}%)",
        k("hair_coverage"): f"{m.hair_coverage * 100:.1f}%",
        k("a_star_between"): f"{m.a_star_between:.1f}",
        k("a_star_follicular"): "-" if m.a_star_follicular is None else f"{m.a_star_follicular:.1f}",
        k("shine_share"): f"{m.shine_share * 100:.2f}%",
        k("fine_scale_share"): f"{m.fine_scale_share * 100:.2f}%",
        k("dandruff_share"): f"{m.dandruff_share * 100:.2f}%",
        k("pustule_count"): f"{m.pustule_count}",
    }
    if m.hair_density_per_cm2 is not None:
        rows[k("hair_density_per_cm2")] = f"{m.hair_density_per_cm2:.0f}"
        rows[k("hair_width_um")] = "-" if m.hair_width_um is None else f"{m.hair_width_um:.0f} µm"
    return rows


def method_label(entry: HistoryEntry, lang: str) -> str:
    """How a saved check was graded: the model and its version, or the thresholds' version."""
    version = t("scalp.history.version_unknown", lang) if entry.version == UNKNOWN_VERSION else entry.version
    if entry.source == "model":
        return t("scalp.history.method_model", lang, name=entry.method, version=version)
    return t("scalp.history.method_heuristic", lang, version=version)


def short_time(iso: str) -> str:
    """``2024-05-01T09:30:12+00:00`` -> ``2024-05-01 09:30``."""
    return iso.replace("T", " ")[:16]
