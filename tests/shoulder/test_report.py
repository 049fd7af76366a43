"""PDF report of a shoulder measurement (shared core.export builder), Korean and English."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from core.export.shoulder import build_pdf
from core.i18n import t
from core.shoulder.display import apply_window
from core.shoulder.measure import measure_level
from core.shoulder.phantom import DEMO_SPEC, demo_case


@pytest.fixture(scope="module")
def measured() -> tuple[dict, dict, object]:
    ph, lines = demo_case()
    sp = (DEMO_SPEC.spacing_mm, DEMO_SPEC.spacing_mm)
    levels = {n: measure_level(ph.image, lines[n], sp) for n in ("dti", "cct1", "cct2")}
    return levels, lines, apply_window(ph.image, 0.5, 1.0)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_pdf_holds_the_result_thresholds_and_references(lang: str, measured, tmp_path: Path) -> None:
    levels, lines, display = measured
    data = build_pdf(levels, lines, display, lang, input_sha256="ab" * 32, source_format="DICOM",
                     spacing=(0.15, 0.15), spacing_source="dicom", model_state="missing",
                     created_at="2025-01-02T03:04:05+00:00")
    assert data.startswith(b"%PDF") and 20_000 < len(data) < 2_000_000
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed: text content not checked")
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert t("shoulder.pdf.title", lang) in flat
    assert t("shoulder.overall.low", lang).split("—")[0].strip() in flat
    assert "1.36" in flat and "5.6 mm" in flat and "< 1.40" in flat
    assert "Spross" in flat and "Tingart" in flat and "Mather" in flat
    assert "abababababababab" in flat and "2025-01-02" in flat
    assert "?" not in flat.replace("https?", ""), "a character the font lacks was replaced"


def test_pdf_without_spacing_gives_pixels_and_no_thickness(measured) -> None:
    levels, lines, display = measured
    ph, _ = demo_case()
    nospace = {"dti": measure_level(ph.image, lines["dti"], None)}
    data = build_pdf(nospace, lines, display, "en", input_sha256="0" * 64, source_format="PNG", spacing=None,
                     spacing_source="none", model_state="missing")
    assert data.startswith(b"%PDF")


def test_one_thickness_level_is_marked_provisional(measured, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cortical thickness averages two levels; a category from one level says it is provisional."""
    from core.export import pdf as pdf_module

    seen: list[str] = []
    original = pdf_module.PdfBuilder._safe
    monkeypatch.setattr(pdf_module.PdfBuilder, "_safe", lambda self, text: (seen.append(str(text)), original(self, text))[1])
    levels, lines, display = measured
    args = dict(input_sha256="0" * 64, source_format="PNG", spacing=(0.15, 0.15), spacing_source="dicom", model_state="missing")
    build_pdf({n: levels[n] for n in ("dti", "cct1")}, lines, display, "en", **args)
    assert t("shoulder.result.cct_provisional", "en") in seen and t("shoulder.result.cct_levels", "en", n=1) in seen
    seen.clear()
    build_pdf(levels, lines, display, "ko", **args)
    assert t("shoulder.result.cct_provisional", "ko") not in seen and t("shoulder.result.cct_levels", "ko", n=2) in seen


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_board_summary_holds_the_indices_and_the_result(lang: str) -> None:
    from core.board import validate_summary
    from core.export.shoulder import share_summary
    from core.shoulder.screening import screen

    result = screen(1.36, 3.5)
    summary = share_summary(1.36, 3.5, result, "phantom", lang, demo=True)
    assert validate_summary(summary) is not None
    assert [f["score"] for f in summary["findings"]] == [1.36, 3.5] and summary["findings"][1]["unit"] == "mm"
    assert t(f"shoulder.share.overall.{result.category}", lang) in summary["note"]
    # issue 14: the phantom is named as what was measured, and not also "an AP shoulder radiograph";
    # its spacing is the phantom's, not a DICOM header's
    assert t("shoulder.share.demo", lang) in summary["note"]
    assert t("shoulder.share.radiograph", lang) not in summary["note"]
    assert t("shoulder.cal.mode_phantom", lang) in summary["note"] and t("shoulder.cal.mode_dicom", lang) not in summary["note"]
    only_dti = share_summary(1.5, None, screen(1.5, None), "none", lang)
    assert len(only_dti["findings"]) == 1 and t("shoulder.share.demo", lang) not in only_dti["note"]
    assert t("shoulder.share.radiograph", lang) in only_dti["note"]
    assert t("shoulder.share.spacing", lang, source=t("shoulder.cal.mode_none", lang)) not in only_dti["note"]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_shared_summary_heads_measurements_and_states_the_risk_plainly(lang: str) -> None:
    from core.board import summary_lines, validate_summary
    from core.export.shoulder import share_summary
    from core.shoulder.screening import screen

    for dti, cct in ((1.36, 3.5), (1.8, 7.0), (None, None)):
        result = screen(dti, cct)
        summary = validate_summary(share_summary(dti or 1.5, cct, result, "dicom", lang)) if dti else None
        overall = t(f"shoulder.overall.{result.category}", lang)
        assert overall.startswith(("골다공증 위험:", "Osteoporosis risk:"))  # risk, not "screening result: low"
        if summary is not None:
            lines = summary_lines(summary, lang)
            assert t("board.summary.findings_shoulder", lang) in lines
            assert t("board.summary.findings", lang) not in lines  # not "Findings (model scores)"
    assert t("shoulder.overall.low", "ko").startswith("골다공증 위험: 높음")
    assert t("shoulder.overall.not_low", "ko").startswith("골다공증 위험: 낮음")
    assert t("shoulder.overall.not_low", "en").startswith("Osteoporosis risk: low")
