"""PDF report of one shoulder bone-health measurement, built with the shared :mod:`core.export`
builder (packaged Korean font), in Korean or English.

Only the measurement, the image pixels (with the lines and edges drawn) and technical fields go
into the report: no DICOM tags, no file name, no patient data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from core.export.pdf import PdfBuilder
from core.i18n import t
from core.shoulder.display import draw_overlay, zoom_view
from core.shoulder.measure import LevelMeasurement
from core.shoulder.profile import Line
from core.shoulder.screening import (
    CCT_HIGH_MM,
    CCT_LOW_MM,
    DTI_CXR_CUTOFF,
    DTI_THRESHOLD,
    REFERENCES,
    Screening,
    mean_cct,
    screen,
)

LEVELS = ("dti", "cct1", "cct2")


def _fmt(value: float | None, digits: int, unit: str = "") -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def _level_rows(levels: dict[str, LevelMeasurement], lang: str) -> list[list[str]]:
    rows = []
    for name in LEVELS:
        lvl = levels.get(name)
        if lvl is None:
            continue
        cort = lvl.cortices_mm
        tilt = "—" if lvl.tilt is None else f"{lvl.tilt.degrees:+.1f}°" + (" ✓" if lvl.corrected else "")
        rows.append([
            t(f"shoulder.line.{name}", lang),
            f"{lvl.dti:.3f}",
            _fmt(lvl.outer_mm, 2) if lvl.outer_mm is not None else f"{lvl.edges.outer_px:.1f} px",
            _fmt(lvl.inner_mm, 2) if lvl.inner_mm is not None else f"{lvl.edges.inner_px:.1f} px",
            "—" if cort is None else f"{cort[0]:.2f} + {cort[1]:.2f} = {cort[0] + cort[1]:.2f}",
            t(f"shoulder.method.{lvl.edges.method}", lang),
            tilt,
        ])
    return rows


def build_pdf(
    levels: dict[str, LevelMeasurement],
    lines: dict[str, Line],
    display: np.ndarray,
    lang: str,
    *,
    input_sha256: str,
    source_format: str,
    spacing: tuple[float, float] | None,
    spacing_source: str,
    model_state: str,
    created_at: str | None = None,
    include_images: bool = True,
) -> bytes:
    """The report as PDF bytes.

    Args:
        levels: measured levels by name (``dti``, ``cct1``, ``cct2``).
        lines: all lines drawn (also ``calib``), for the overview picture.
        display: the window/levelled image (uint8 grayscale) as shown on the page.
        lang: ``"ko"`` or ``"en"``.
        input_sha256: SHA-256 of the uploaded bytes (audit trail).
        source_format: ``"DICOM"``, ``"PNG"``...
        spacing: pixel spacing used (row_mm, col_mm) or ``None``.
        spacing_source: ``"dicom"``, ``"phantom"`` (the demonstration phantom's known spacing),
            ``"object"`` or ``"none"``.
        model_state: install state of the learned model.
        created_at: ISO time (default: now, UTC).
        include_images: put the overview and the zoomed views in (False for an image whose DICOM
            file says patient details are burned in, unless the user confirmed: a notice instead).

    Raises:
        ImportError: the shared PDF builder is not installed.
        FileNotFoundError: its font file is missing.
    """
    created = created_at or datetime.now(UTC).isoformat(timespec="seconds")
    dti = levels["dti"].dti if "dti" in levels else None
    cct_levels = [levels[n].cct_mm for n in ("cct1", "cct2") if n in levels]
    cct = mean_cct(cct_levels)
    result: Screening = screen(dti, cct)
    pdf = PdfBuilder(title=t("shoulder.pdf.title", lang), subtitle=t("shoulder.pdf.subtitle", lang, time=created),
                     footer=t("shoulder.pdf.footer", lang))
    pdf.notice(t("shoulder.advice.not_diagnosis", lang))

    pdf.heading(t("shoulder.pdf.result", lang))
    pdf.paragraph(t(f"shoulder.overall.{result.category}", lang), size=11)
    if result.advise_dxa:
        pdf.notice(t("shoulder.advice.dxa", lang))
    if cct is not None:
        n_cct = sum(v is not None for v in cct_levels)
        pdf.paragraph(t("shoulder.result.cct_levels", lang, n=n_cct), size=9)
        if n_cct == 1:
            pdf.notice(t("shoulder.result.cct_provisional", lang))
    header = [t("shoulder.pdf.col_index", lang), t("shoulder.pdf.col_value", lang),
              t("shoulder.pdf.col_threshold", lang), t("shoulder.pdf.col_category", lang),
              t("shoulder.pdf.col_reference", lang)]
    rows = [
        [t("shoulder.result.dti", lang), _fmt(dti, 2), f"< {DTI_THRESHOLD:.2f} ({t('shoulder.pdf.cxr_cutoff', lang)} {DTI_CXR_CUTOFF:.3f})",
         t(f"shoulder.category.{result.findings[0].category}", lang), "Spross 2015"],
        [t("shoulder.result.cct", lang), _fmt(cct, 1, " mm"), f"< {CCT_LOW_MM:g} mm / ≥ {CCT_HIGH_MM:g} mm",
         t(f"shoulder.category.{result.findings[1].category}", lang), "Tingart 2003; Mather 2013"],
    ]
    pdf.table(header, rows, widths=[3, 1.3, 2.6, 2, 2])

    pdf.heading(t("shoulder.pdf.measurements", lang))
    level_rows = _level_rows(levels, lang)
    if level_rows:
        unit = "mm" if spacing is not None else "px"
        pdf.table([t("shoulder.pdf.col_level", lang), "DTI", t("shoulder.pdf.col_outer", lang, unit=unit),
                   t("shoulder.pdf.col_inner", lang, unit=unit), t("shoulder.pdf.col_cortices", lang),
                   t("shoulder.pdf.col_method", lang), t("shoulder.pdf.col_tilt", lang)],
                  level_rows, widths=[2.6, 1, 1.4, 1.4, 2.4, 2.2, 1.2], size=8)
    spacing_text = "—" if spacing is None else f"{spacing[0]:.4f} × {spacing[1]:.4f} mm"
    pdf.key_values([
        (t("shoulder.pdf.spacing", lang), f"{spacing_text} ({t(f'shoulder.cal.mode_{spacing_source}', lang)})"),
        (t("shoulder.pdf.input", lang), f"{source_format} · SHA-256 {input_sha256[:16]}…"),
        (t("shoulder.pdf.model", lang), t(f"shoulder.model.state_{model_state}", lang)),
    ], key_width=50)

    if include_images:
        scale = min(1.0, 900 / max(display.shape[:2]))
        overview = draw_overlay(display, lines, levels, scale=scale)
        zooms = [(zoom_view(display, n, levels[n], size=300), t(f"shoulder.line.{n}", lang)) for n in LEVELS if n in levels]
        pdf.images([(overview, t("shoulder.pdf.overview", lang))], width_mm=90)
        if zooms:
            pdf.images(zooms)
    else:
        pdf.notice(t("shoulder.pdf.images_left_out", lang))

    pdf.heading(t("shoulder.references", lang))
    for text in REFERENCES.values():
        pdf.paragraph(text, size=8.5)
    pdf.paragraph(t("shoulder.pdf.method_note", lang), size=8.5)
    return pdf.build()


def share_summary(dti: float | None, cct: float | None, result: Screening, spacing_source: str, code: str,
                  demo: bool = False) -> dict[str, Any]:
    """The board summary: the two indices with their categories and the screening result. Built from the
    numbers only: never the image, the file name or a DICOM tag. ``code``: the language of the text."""
    findings: list[dict[str, Any]] = []
    for value, finding, name, unit, digits in ((dti, result.findings[0], "dti", "", 3),
                                               (cct, result.findings[1], "cct", "mm", 2)):
        if value is not None:
            label = t("shoulder.share.item", code, name=t(f"shoulder.share.{name}", code),
                      category=t(f"shoulder.share.category.{finding.category}", code))
            findings.append({"label": label, "score": round(float(value), digits), "unit": unit})
    note = t("shoulder.share.note", code, result=t(f"shoulder.share.overall.{result.category}", code))
    # what it was measured on: the demonstration phantom or a radiograph, never both
    note += " " + t("shoulder.share.demo" if demo else "shoulder.share.radiograph", code)
    if cct is not None and spacing_source != "none":
        note += " " + t("shoulder.share.spacing", code, source=t(f"shoulder.cal.mode_{spacing_source}", code))
    return {"task": "shoulder", "findings": findings, "note": note}
