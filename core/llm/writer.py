"""The report-writer interface and its registry.

A writer turns structured facts into report text, streamed as chunks so a page can show it while
it is being written (``st.write_stream``)::

    writer = get_writer("structured")
    for chunk in writer.write(facts, "ko"):
        ...

Backends register a factory under a name. ``structured`` (templates, no model, always works) is
registered here; LLM backends (transformers, peft adapters, a packaged GGUF model) register
themselves when their module is imported and report ``available() == False`` when their weights
are not installed, so the page can fall back to ``structured``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from core.llm.facts import ChestReportFacts

ReportFacts = ChestReportFacts  # the union grows as other pages get writers


@runtime_checkable
class ReportWriter(Protocol):
    """Writes a report from facts.

    Attributes:
        name: registry name (``"structured"``).
        kind: ``"template"`` or ``"llm"`` (the page labels LLM text as machine-written).
    """

    name: str
    kind: str

    def available(self) -> bool:
        """True when the writer can run now (its model, if any, is installed)."""
        ...

    def write(self, facts: ReportFacts, lang: str) -> Iterator[str]:
        """Yield the report text in chunks (``"".join`` gives the whole text).

        Raises:
            TypeError: the writer does not handle this kind of facts.
        """
        ...


_FACTORIES: dict[str, Callable[[], ReportWriter]] = {}


def register_writer(name: str, factory: Callable[[], ReportWriter]) -> None:
    """Make a writer available under ``name`` (a later registration replaces an earlier one)."""
    _FACTORIES[name] = factory


def writer_names() -> list[str]:
    """Registered writer names, ``structured`` first."""
    return sorted(_FACTORIES, key=lambda n: (n != "structured", n))


def get_writer(name: str = "structured") -> ReportWriter:
    """The writer registered as ``name``. Raises ``KeyError`` for unknown names."""
    try:
        return _FACTORIES[name]()
    except KeyError:
        raise KeyError(f"no report writer {name!r}; known: {writer_names()}") from None


def write_text(writer: ReportWriter, facts: ReportFacts, lang: str) -> str:
    """The whole text of ``writer.write(facts, lang)``."""
    return "".join(writer.write(facts, lang))
