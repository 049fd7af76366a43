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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from core.chest.facts import ChestReportFacts
from core.errors import UserError
from core.llm.careplan import CarePlanFacts

if TYPE_CHECKING:  # annotations only: importing the analysis would load the chest gate for every page
    from core.chest.analysis import ChestAnalysis
    from core.chest.reading import OperatingPoint

ReportFacts = ChestReportFacts | CarePlanFacts  # chest reports and scalp care plans
FACT_KINDS: tuple[str, ...] = ("chest", "careplan")  # what ``ReportWriter.handles`` may name


@runtime_checkable
class ReportWriter(Protocol):
    """Writes a report from facts.

    Attributes:
        name: registry name (``"structured"``).
        kind: ``"template"`` or ``"llm"`` (the page labels LLM text as machine-written).

    A writer may also carry ``handles``: the kinds of facts it writes (:data:`FACT_KINDS`); without
    it, every kind. Pages offer a writer only for the facts it handles.
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


def report_stream(analysis: ChestAnalysis, op: OperatingPoint, lang: str, writer: ReportWriter | None = None) -> Iterator[str]:
    """The chest report text of ``analysis`` read at ``op``, streamed by ``writer`` (structured by default).

    Raises:
        KeyError: no ``structured`` writer is registered (``core.llm`` was not imported).
    """
    return (writer or get_writer("structured")).write(analysis.facts(op), lang)


@dataclass(frozen=True)
class WriterStatus:
    """Whether a registered writer can run now, and if not, why (a translated error).

    Attributes:
        name: registry name.
        kind: ``"template"`` or ``"llm"``.
        available: the writer can run now.
        reason: why it cannot (its message names the install command), or None.
        handles: the kinds of facts it writes (``"chest"``, ``"careplan"``).
    """

    name: str
    kind: str
    available: bool
    reason: UserError | None = None
    handles: tuple[str, ...] = FACT_KINDS

    @property
    def command(self) -> str | None:
        """The install / setup command the reason names, if any."""
        if self.reason is None:
            return None
        value = self.reason.params.get("command")
        return str(value) if value else None


def writer_status(name: str) -> WriterStatus:
    """The status of the writer registered as ``name`` (nothing is loaded).

    A writer may explain itself with an ``unavailable_reason() -> UserError | None`` method;
    without one an unavailable writer gets the generic ``llm.error.unavailable`` reason.

    Raises:
        KeyError: no writer is registered as ``name``.
    """
    writer = get_writer(name)
    kind = getattr(writer, "kind", "llm")
    handles = tuple(k for k in getattr(writer, "handles", FACT_KINDS) if k in FACT_KINDS)
    try:
        ok = bool(writer.available())
    except Exception:  # a backend's probe must never break the page listing it
        ok = False
    if ok:
        return WriterStatus(name, kind, True, None, handles)
    explain = getattr(writer, "unavailable_reason", None)
    reason = explain() if callable(explain) else None
    if not isinstance(reason, UserError):
        reason = UserError("llm.error.unavailable", name=name)
    return WriterStatus(name, kind, False, reason, handles)
