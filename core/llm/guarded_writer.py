"""Run an LLM writer, check its text, and decide what the page shows as the report.

The LLM's text is a *draft* until its guard (:mod:`core.llm.report_guard` for a chest report,
:mod:`core.llm.careplan_guard` for a scalp care plan) has checked it against the facts:

* guard passes -> the LLM text is the report (labelled machine-written, checked);
* guard fails  -> the structured writer's text is the report, with the guard's note saying why;
* the LLM cannot run (model missing, load or generation error) -> the structured text, with the
  translated error;
* no guard available -> the structured text (unchecked LLM text is never the report).

Pages may show the draft while it is being written through ``on_chunk`` (in an area labelled
"draft, not yet checked"); only :attr:`GuardedOutcome.text` is ever shown as the report::

    outcome = GuardedWriter(get_writer("gemma")).run(facts, "ko", on_chunk=draft_area.write)
    show(outcome.text); if outcome.note("ko"): show(outcome.note("ko"))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from core.chest.facts import ChestReportFacts
from core.errors import UserError
from core.i18n import t
from core.llm import careplan_guard, report_guard
from core.llm.careplan import CarePlanFacts
from core.llm.writer import ReportFacts, ReportWriter, get_writer

Check = Callable[[str, ReportFacts, str], Any]


@dataclass(frozen=True)
class GuardedOutcome:
    """What a guarded run produced.

    Attributes:
        text: what the page shows as the report (the checked LLM text, or the structured text).
        source: ``"llm"`` when ``text`` is the LLM's, ``"structured"`` otherwise.
        writer: the LLM writer's registry name.
        draft: the LLM's raw text ("" when it could not run).
        guard: the guard's result (None when the LLM could not run or no guard exists).
        stop: why the LLM stopped (``eos`` / ``length`` / ``time`` / ``stop``), if known.
        error: the translated error that stopped the LLM, if any.
        max_time: the LLM writer's wall-clock limit in seconds (for the time-limit message).
    """

    text: str
    source: Literal["llm", "structured"]
    writer: str
    draft: str = ""
    guard: Any = None
    stop: str | None = None
    error: UserError | None = None
    max_time: float | None = None

    @property
    def checked(self) -> bool:
        """True when the shown text is the LLM's and the guard passed it."""
        return self.source == "llm"

    @property
    def time_limited(self) -> bool:
        """True when the wall-clock limit cut the LLM's text."""
        return self.stop == "time"

    @property
    def length_limited(self) -> bool:
        """True when the LLM's text ended at its token limit (it may be cut mid-sentence)."""
        return self.stop == "length"

    def note(self, lang: str | None) -> str | None:
        """Why the structured text is shown instead of the LLM's (translated), or None."""
        if self.source == "llm":
            return None
        if self.error is not None:
            return t("llm.guarded.error", lang, detail=self.error.message(lang))
        if self.guard is None:
            return t("llm.guarded.no_guard", lang)
        note = getattr(self.guard, "note", None)
        detail = str(note(lang) or "") if callable(note) else ""
        return detail or t("llm.guarded.replaced", lang)  # the guard's note says what it found


def default_check(text: str, facts: ReportFacts, lang: str) -> Any:
    """The guard for ``facts``: :func:`core.llm.report_guard.check_chest_report` or
    :func:`core.llm.careplan_guard.check_care_plan` (looked up when called).

    Raises:
        TypeError: unknown kind of facts.
    """
    if isinstance(facts, ChestReportFacts):
        return report_guard.check_chest_report(text, facts, lang)
    if isinstance(facts, CarePlanFacts):
        doctor = tuple(item.rule_id for item in facts.plan.section("doctor"))  # what the plan itself advises
        return careplan_guard.check_care_plan(text, facts.grade_map(), lang, pustules=facts.pustules, referrals=doctor)
    raise TypeError(f"no guard for {type(facts).__name__}")


class GuardedWriter:
    """An LLM writer whose text is shown only after the guard passed it.

    Args:
        llm: the LLM writer (``kind == "llm"``).
        fallback: the writer whose text replaces a failed draft (``structured`` by default).
        check: ``(text, facts, lang) -> GuardResult`` (the real guard by default).
    """

    def __init__(self, llm: ReportWriter, fallback: ReportWriter | None = None, check: Check | None = None) -> None:
        self.llm = llm
        self.fallback = fallback or get_writer("structured")
        self.check = check or default_check

    def _structured(self, facts: ReportFacts, lang: str) -> str:
        return "".join(self.fallback.write(facts, lang))

    def run(self, facts: ReportFacts, lang: str, on_chunk: Callable[[str], None] | None = None) -> GuardedOutcome:
        """Generate, check, decide. ``on_chunk`` receives each draft chunk as it is written.

        Never raises for a missing model or a generation error: the outcome carries the error and
        the structured text (also when the LLM writer does not handle this kind of facts). Raises
        TypeError only for facts the fallback does not handle either.
        """
        chunks: list[str] = []
        limit = getattr(self.llm, "max_time", None)
        limit = float(limit) if isinstance(limit, int | float) else None

        def outcome(text: str, source: Literal["llm", "structured"], draft: str, result: Any = None,
                    error: UserError | None = None) -> GuardedOutcome:
            return GuardedOutcome(text, source, self.llm.name, draft, result, _stop(self.llm), error, limit)

        try:
            for chunk in self.llm.write(facts, lang):
                chunks.append(chunk)
                if on_chunk is not None:
                    on_chunk(chunk)
        except UserError as err:
            return outcome(self._structured(facts, lang), "structured", "".join(chunks), error=err)
        except (RuntimeError, OSError, ValueError, MemoryError, TypeError) as exc:
            err = UserError("llm.error.generation_failed", detail=type(exc).__name__)
            return outcome(self._structured(facts, lang), "structured", "".join(chunks), error=err)
        draft = "".join(chunks)
        if not draft.strip():
            return outcome(self._structured(facts, lang), "structured", draft, error=UserError("llm.error.empty"))
        try:
            result = self.check(draft, facts, lang)
        except ImportError:  # no guard installed: unchecked text is never the report
            return outcome(self._structured(facts, lang), "structured", draft)
        except Exception as exc:  # noqa: BLE001 (fail closed: a guard that cannot run never passes a text)
            err = UserError("llm.error.guard_failed", detail=type(exc).__name__)
            return outcome(self._structured(facts, lang), "structured", draft, error=err)
        if getattr(result, "ok", False) is True:
            return outcome(draft, "llm", draft, result)
        return outcome(self._structured(facts, lang), "structured", draft, result)


def _stop(writer: ReportWriter) -> str | None:
    value = getattr(writer, "last_stop", None)
    return value if isinstance(value, str) else None


def run_guarded(name: str, facts: ReportFacts, lang: str,
                on_chunk: Callable[[str], None] | None = None) -> GuardedOutcome:
    """:class:`GuardedWriter` over the writer registered as ``name``.

    Raises:
        KeyError: no writer is registered as ``name``.
    """
    return GuardedWriter(get_writer(name)).run(facts, lang, on_chunk)
