"""Report writers: structured facts in, report text out (streamed).

Public API::

    from core.llm import ReportWriter, StructuredWriter, get_writer

The facts they read are the chest package's (:mod:`core.chest.facts`) and the scalp care plan's
(:mod:`core.llm.careplan`); writers import them, never the reverse. ``structured`` is always
registered; LLM backends come in their own modules and register themselves with
:func:`register_writer`.
"""

import core.llm.hf  # noqa: F401  (registers the transformers and gemma writers)
import core.llm.prefix_writer  # noqa: F401  (registers the gemma-lora image-prefix writer)
from core.llm.structured import StructuredWriter
from core.llm.writer import ReportWriter, get_writer, register_writer, write_text, writer_names

__all__ = [
    "ReportWriter",
    "StructuredWriter",
    "get_writer",
    "register_writer",
    "write_text",
    "writer_names",
]
