"""A small, generic PDF report builder (fpdf2) with a packaged Korean font.

Any page can build a report from blocks::

    pdf = PdfBuilder(title="흉부 X선 분석 보고서", subtitle="2025-01-01 12:00 UTC")
    pdf.heading("소견")
    pdf.paragraph("...")
    pdf.key_values([("모델", "xrv-densenet121"), ("버전", "v1")])
    pdf.table(["소견", "확률"], [["흉수", "0.82"]], widths=[3, 1])
    pdf.images([(array, "원본"), (overlay, "히트맵")])
    pdf.notice("선별 검사 보조 도구이며 진단이 아닙니다.")
    data = pdf.build()   # bytes

Text is set in Noto Sans KR (subset: Latin + all Hangul syllables; ``assets/fonts``), so Korean and
English both render. Characters the font lacks are replaced by ``?`` (emoji are dropped) rather than failing.
Images are numpy arrays (``[0, 1]`` floats or uint8, grey or RGB) or PIL images; they are embedded
as JPEG (quality 90) at most ``max_image_px`` on the long side, so PDFs stay small.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.settings import PROJECT_ROOT

FONT_DIR = PROJECT_ROOT / "assets" / "fonts"
FONT_PATH = FONT_DIR / "NotoSansKR-Regular-subset.otf"
FONT_FAMILY = "NotoSansKR"

_ACCENT = (24, 78, 140)
_MUTED = (90, 90, 90)
_NOTICE_FILL = (255, 244, 214)


def _to_pil(image: Any, max_px: int) -> Any:
    from PIL import Image

    if isinstance(image, Image.Image):
        pil = image
    else:
        arr = np.asarray(image)
        if arr.dtype != np.uint8:
            arr = np.uint8(np.clip(arr.astype(np.float32), 0, 1) * 255 + 0.5)
        pil = Image.fromarray(arr)
    if pil.mode not in ("L", "RGB"):
        pil = pil.convert("RGB")
    if max(pil.size) > max_px:
        pil = pil.copy()
        pil.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
    return pil


def _jpeg(image: Any, max_px: int) -> tuple[io.BytesIO, int, int]:
    pil = _to_pil(image, max_px)
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", quality=90)
    buf.seek(0)
    return buf, pil.size[0], pil.size[1]


class PdfBuilder:
    """Build an A4 report block by block; :meth:`build` returns the PDF bytes.

    Args:
        title: document title (first page heading and PDF metadata).
        subtitle: line under the title (date, site...).
        footer: text at the bottom of every page (with the page number).
        font_path: TTF/OTF file with the glyphs needed (default: packaged Noto Sans KR subset).
        max_image_px: longest side of embedded images.

    Raises:
        FileNotFoundError: the font file is missing.
    """

    def __init__(
        self,
        title: str,
        subtitle: str = "",
        footer: str = "",
        *,
        font_path: Path = FONT_PATH,
        max_image_px: int = 1400,
    ) -> None:
        from fpdf import FPDF

        if not Path(font_path).is_file():
            raise FileNotFoundError(f"font file {font_path} is missing")
        footer_text = footer

        class _Doc(FPDF):
            def footer(self) -> None:  # noqa: D401 (fpdf hook)
                self.set_y(-12)
                self.set_font(FONT_FAMILY, size=7.5)
                self.set_text_color(*_MUTED)
                text = f"{footer_text}   {self.page_no()}/{{nb}}" if footer_text else f"{self.page_no()}/{{nb}}"
                self.cell(0, 6, text, align="C")

        self.max_image_px = max_image_px
        self.pdf = _Doc(orientation="P", unit="mm", format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=16)
        self.pdf.set_margins(15, 15, 15)
        self.pdf.add_font(FONT_FAMILY, "", str(font_path))
        self.pdf.set_title(title)
        self.pdf.set_creator("Dr.DeepChest")
        self.pdf.add_page()
        self._font(18, _ACCENT)
        self.pdf.multi_cell(0, 9, self._safe(title), new_x="LMARGIN", new_y="NEXT")
        if subtitle:
            self._font(9.5, _MUTED)
            self.pdf.multi_cell(0, 5, self._safe(subtitle), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(3)

    # --- helpers ---
    @property
    def width(self) -> float:
        return self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

    def _font(self, size: float, colour: tuple[int, int, int] = (0, 0, 0)) -> None:
        self.pdf.set_font(FONT_FAMILY, size=size)
        self.pdf.set_text_color(*colour)

    def _safe(self, text: object) -> str:
        """Replace characters the embedded font lacks (fpdf2 would draw nothing for them)."""
        font = self.pdf.fonts.get(FONT_FAMILY.lower()) if hasattr(self.pdf, "fonts") else None
        cmap = getattr(font, "cmap", None) or {}
        text = str(text)
        if not cmap:
            return text
        return "".join(
            ch if (ord(ch) in cmap or ch in "\n\t") else ("" if ord(ch) >= 0x1F000 or ord(ch) in (0xFE0F, 0x200D) else "?")
            for ch in text
        )

    # --- blocks ---
    def heading(self, text: str) -> PdfBuilder:
        self.pdf.ln(2)
        self._font(13, _ACCENT)
        self.pdf.multi_cell(0, 7, self._safe(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_draw_color(*_ACCENT)
        y = self.pdf.get_y()
        self.pdf.line(self.pdf.l_margin, y, self.pdf.l_margin + self.width, y)
        self.pdf.ln(1.5)
        return self

    def paragraph(self, text: str, size: float = 10) -> PdfBuilder:
        """Body text; newlines start new lines."""
        self._font(size)
        self.pdf.multi_cell(0, size * 0.5 + 0.6, self._safe(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)
        return self

    def key_values(self, rows: Sequence[tuple[str, str]], key_width: float = 45) -> PdfBuilder:
        """Two-column label/value list."""
        for key, value in rows:
            self._font(9, _MUTED)
            y = self.pdf.get_y()
            self.pdf.multi_cell(key_width, 5, self._safe(key), new_x="RIGHT", new_y="TOP")
            self._font(9)
            self.pdf.multi_cell(0, 5, self._safe(value), new_x="LMARGIN", new_y="NEXT")
            self.pdf.set_y(max(self.pdf.get_y(), y + 5))
        self.pdf.ln(1)
        return self

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float] | None = None, size: float = 9) -> PdfBuilder:
        """A table with a header row; ``widths`` are relative column widths."""
        self._font(size)
        col_widths = None
        if widths is not None:
            total = float(sum(widths))
            col_widths = tuple(self.width * w / total for w in widths)
        from fpdf.fonts import FontFace

        heading_style = FontFace(emphasis="", color=_ACCENT, fill_color=(232, 239, 248))
        self.pdf.set_fill_color(255, 255, 255)  # body cells: no fill left over from a notice
        with self.pdf.table(col_widths=col_widths, line_height=size * 0.55, text_align="LEFT",
                            headings_style=heading_style, first_row_as_headings=True) as table:
            head = table.row()
            for cell in header:
                head.cell(self._safe(cell))
            for row in rows:
                line = table.row()
                for cell in row:
                    line.cell(self._safe(cell))
        self.pdf.ln(2)
        return self

    def image(self, image: Any, caption: str = "", width_mm: float | None = None) -> PdfBuilder:
        """One image, centred; ``width_mm`` defaults to the text width (height capped at 120 mm)."""
        return self.images([(image, caption)], width_mm=width_mm)

    def images(self, items: Sequence[tuple[Any, str]], width_mm: float | None = None, gap: float = 4) -> PdfBuilder:
        """Images side by side in one row, each with a caption under it."""
        if not items:
            return self
        n = len(items)
        cell_w = width_mm or (self.width - gap * (n - 1)) / n
        prepared = [(_jpeg(img, self.max_image_px), cap) for img, cap in items]
        heights = [cell_w * h / w for (_, w, h), _ in prepared]
        scale = min(1.0, 120.0 / max(heights))
        cell_w *= scale
        row_h = max(heights) * scale
        if self.pdf.get_y() + row_h + 8 > self.pdf.h - self.pdf.b_margin:
            self.pdf.add_page()
        y = self.pdf.get_y()
        x0 = self.pdf.l_margin + (self.width - (cell_w * n + gap * (n - 1))) / 2
        for i, ((buf, w, h), caption) in enumerate(prepared):
            x = x0 + i * (cell_w + gap)
            self.pdf.image(buf, x=x, y=y, w=cell_w, h=cell_w * h / w)
            if caption:
                self._font(8, _MUTED)
                self.pdf.set_xy(x, y + row_h + 1)
                self.pdf.multi_cell(cell_w, 4, self._safe(caption), align="C")
        self.pdf.set_xy(self.pdf.l_margin, y + row_h + (7 if any(c for _, c in items) else 2))
        return self

    def notice(self, text: str) -> PdfBuilder:
        """A highlighted box (intended use, warnings)."""
        self._font(9)
        self.pdf.set_fill_color(*_NOTICE_FILL)
        self.pdf.multi_cell(0, 5, self._safe(text), fill=True, border=0, padding=2, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_fill_color(255, 255, 255)
        self.pdf.ln(2)
        return self

    def build(self) -> bytes:
        """The finished PDF."""
        return bytes(self.pdf.output())
