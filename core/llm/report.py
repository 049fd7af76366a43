"""Writing a chest report: which writers may write it, running one (an LLM only through the guard), and
which writer's text the report really is (the PDF and JSON exports print it).

No Streamlit: a page passes callbacks to show the text while it is written::

    outcome = write(analysis, op, "ko", "structured", on_text=area.write)
    show(outcome.text); for note in outcome.notes: show(note.text)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from core.chest.analysis import ChestAnalysis
from core.chest.labels import localized_name, localized_plain
from core.chest.reading import OperatingPoint
from core.i18n import t
from core.llm.guarded_writer import GuardedOutcome, GuardedWriter
from core.llm.structured import location_phrase
from core.llm.writer import WriterStatus, get_writer, writer_names, writer_status

FALLBACK = "structured"  # the template writer whose text replaces an LLM draft the guard did not pass

NoteKind = Literal["machine_written", "replaced", "time_limit", "length_limit"]


@dataclass(frozen=True)
class ReportNote:
    """A translated remark shown with the report: ``machine_written`` (information), ``replaced`` (the LLM
    draft was not used: why), ``time_limit`` / ``length_limit`` (the LLM was cut off)."""

    kind: NoteKind
    text: str

    @property
    def level(self) -> Literal["info", "warning"]:
        """How a page shows it: information for a checked machine-written report, else a warning."""
        return "info" if self.kind == "machine_written" else "warning"


@dataclass(frozen=True)
class ReportOutcome:
    """A written report.

    Attributes:
        text: the report (a template's text, or an LLM's text the guard passed).
        writer_used: the registry name of the writer whose text ``text`` is (``structured`` when an LLM
            draft was replaced): what the exports print as the report's writer.
        notes: translated remarks to show with it (none for a template writer).
    """

    text: str
    writer_used: str
    notes: tuple[ReportNote, ...] = ()


def chest_writers() -> dict[str, WriterStatus]:
    """The registered writers that write chest reports (``structured`` first), each with whether it can
    run now (nothing is loaded)."""
    return {name: status for name in writer_names() if "chest" in (status := writer_status(name)).handles}


def limit_notes(outcome: GuardedOutcome, lang: str) -> tuple[ReportNote, ...]:
    """Warnings that the LLM was cut off: by its time limit, or (for a text shown) by its length limit."""
    notes = []
    if outcome.time_limited:
        notes.append(ReportNote("time_limit", t("llm.ui.time_limit", lang, seconds=f"{outcome.max_time or 0:.0f}")))
    if outcome.checked and outcome.length_limited:
        notes.append(ReportNote("length_limit", t("llm.ui.length_limit", lang)))
    return tuple(notes)


def guarded_notes(outcome: GuardedOutcome, lang: str) -> tuple[ReportNote, ...]:
    """What to show with a guarded run's report: machine-written (checked) or why the draft was replaced,
    then :func:`limit_notes`."""
    if outcome.checked:
        first = ReportNote("machine_written", t("llm.ui.machine_written", lang, title=t(f"llm.writer.{outcome.writer}", lang)))
    else:
        first = ReportNote("replaced", outcome.note(lang) or "")
    return (first, *limit_notes(outcome, lang))


def write(analysis: ChestAnalysis, op: OperatingPoint, lang: str, writer: str = FALLBACK,
          on_text: Callable[[str], None] | None = None, on_draft: Callable[[str], None] | None = None) -> ReportOutcome:
    """Write the report of ``analysis`` at operating point ``op`` in ``lang`` with the writer registered
    as ``writer``.

    A template writer's text is the report: each chunk goes to ``on_text`` as it is written. An LLM
    writer (``kind == "llm"``) runs through the guard: each chunk of its draft goes to ``on_draft`` (a
    draft, never the report); the report is its text only when the guard passed it, else the
    structured text, with a note saying why (``writer_used`` then says ``structured``). A missing LLM
    or a failed generation never raises: it is a replaced draft with the translated error as note.

    Raises:
        KeyError: no writer is registered as ``writer``.
        ValueError: ``analysis`` has no prediction (the input gate refused the image).
    """
    facts = analysis.facts(op)
    chosen = get_writer(writer)
    if getattr(chosen, "kind", "llm") == "llm":
        guarded = GuardedWriter(chosen).run(facts, lang, on_chunk=on_draft)
        return ReportOutcome(guarded.text, writer if guarded.checked else FALLBACK, guarded_notes(guarded, lang))
    chunks: list[str] = []
    for chunk in chosen.write(facts, lang):
        chunks.append(chunk)
        if on_text is not None:
            on_text(chunk)
    return ReportOutcome("".join(chunks), writer)


TABLE_COLUMNS = ("finding", "probability", "status", "location", "plain")


def findings_table(analysis: ChestAnalysis, op: OperatingPoint, lang: str) -> list[dict[str, Any]]:
    """The reported findings (sorted by probability) as table rows in ``lang``, worded as the report
    words them: name, probability, status at ``op``, location ("–" when none), plain explanation.
    Column titles are the ``chest.col.*`` texts.

    Raises:
        ValueError: ``analysis`` has no prediction (the input gate refused the image).
    """
    col = {name: t(f"chest.col.{name}", lang) for name in TABLE_COLUMNS}
    facts = {fact.label: fact for fact in analysis.facts(op).findings}
    return [{col["finding"]: localized_name(f.label, lang), col["probability"]: f.probability,
             col["status"]: t(f"chest.status.{facts[f.label].status}", lang),
             col["location"]: location_phrase(facts[f.label], lang) or "–", col["plain"]: localized_plain(f.label, lang)}
            for f in analysis.reported_findings]
