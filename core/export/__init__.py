"""Exports, built on the chest / shoulder results and the report writers' text.

:mod:`core.export.pdf`: the generic PDF report builder with a packaged Korean font
(:class:`PdfBuilder`); :mod:`core.export.chest`: the PDF / JSON / audit-trail / board-summary exports
of one chest analysis; :mod:`core.export.shoulder`: the PDF and board summary of one shoulder
measurement. This layer sits above the feature packages and the writers (it may import
``core.chest``, ``core.shoulder`` and ``core.llm``); none of them imports it.
"""

from core.export.pdf import FONT_PATH, PdfBuilder

__all__ = ["FONT_PATH", "PdfBuilder"]
