"""The generic PDF builder and its packaged Korean font."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.export import FONT_PATH, PdfBuilder


def test_the_packaged_font_is_a_small_subset_with_its_licence() -> None:
    from fontTools.ttLib import TTFont

    assert FONT_PATH.is_file() and FONT_PATH.stat().st_size < 3_000_000
    licence = (FONT_PATH.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Copyright" in licence
    cmap = TTFont(FONT_PATH).getBestCmap()
    assert all(c in cmap for c in range(0xAC00, 0xD7A4)), "every Hangul syllable"
    assert all(c in cmap for c in range(0x20, 0x7F)), "Basic Latin"
    assert 0x3131 in cmap and 0xB1 in cmap and 0x2265 in cmap  # jamo, ±, ≥


def _build() -> bytes:
    rng = np.random.default_rng(0)
    pdf = PdfBuilder("흉부 X선 보고서 · Chest report", "2025-01-01 00:00 UTC", footer="Dr.DeepChest")
    pdf.heading("소견 FINDINGS")
    pdf.paragraph("- 흉수: 있을 가능성이 높음 (점수 0.86), 위치: 좌측 하폐야.\n- Pleural effusion ≥ 0.5 ✓ 漢字")
    pdf.key_values([("모델", "xrv-densenet121-res224-all"), ("SHA-256", "ab" * 32)])
    pdf.table(["소견", "점수", "판정"], [["흉수", "0.86", "🔴 가능성 높음"], ["Cardiomegaly", "0.41", "불확실"]], widths=[3, 1, 2])
    pdf.images([(rng.random((300, 240)), "원본"), (np.uint8(rng.integers(0, 255, (300, 240, 3))), "히트맵")])
    pdf.image(rng.random((2000, 1800)), "큰 영상")  # downscaled on embedding
    pdf.notice("선별 보조 도구이며 진단이 아닙니다. Not a diagnosis.")
    for _ in range(30):
        pdf.paragraph("긴 문단 " * 40)  # forces page breaks
    return pdf.build()


def test_builds_a_multi_page_pdf_with_korean_text_and_images() -> None:
    data = _build()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert b"NotoSansKR" in data and b"/FontFile" in data  # the font is embedded (as a subset)
    pages = re.search(rb"/Count (\d+)", data)
    assert pages is not None and int(pages.group(1)) >= 2
    assert len(data) < 2_000_000


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="pdftoppm (poppler-utils) is not installed")
def test_the_first_page_renders_with_ink(tmp_path: Path) -> None:
    from PIL import Image

    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(_build())
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True)
    page = np.asarray(Image.open(next(tmp_path.glob("p*.png"))).convert("L"))
    assert (page < 128).mean() > 0.01  # text and images are drawn


def test_a_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PdfBuilder("x", font_path=tmp_path / "none.otf")
