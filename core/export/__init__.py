"""Exports: a generic PDF report builder with a packaged Korean font (:class:`PdfBuilder`)."""

from core.export.pdf import FONT_PATH, PdfBuilder

__all__ = ["FONT_PATH", "PdfBuilder"]
