"""What the consistency guards return: :class:`GuardResult`, shared by the chest report guard
(:mod:`core.llm.report_guard`) and the scalp care-plan guard (:mod:`core.llm.careplan_guard`), which
check LLM-written text before it is displayed (:mod:`core.llm.guarded_writer` runs them).

Rules and limits: ``docs/llm_guard.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from core.chest.labels import localized_name
from core.i18n import catalog, t
from core.llm.labeler import NO_FINDING

Kind = Literal["chest", "care_plan"]
SIDES = ("right", "left", "bilateral")

#: Translation keys of the problems (each takes ``{names}``, a list of findings, conditions or phrases).
P_EMPTY = "guard.problem.empty"  # both guards
P_ASSERTED = "guard.problem.asserted"  # chest report guard
P_OVERSTATED = "guard.problem.overstated"
P_NOT_ASSESSED = "guard.problem.not_assessed"
P_OMITTED = "guard.problem.omitted"
P_CONTRADICTED = "guard.problem.contradicted"
P_NORMAL_CLAIM = "guard.problem.normal_claim"
P_WRONG_SIDE = "guard.problem.wrong_side"
P_STRAY_SIDE = "guard.problem.stray_side"
P_INVENTED = "guard.problem.invented_condition"  # care-plan guard
P_OMITTED_CONDITION = "guard.problem.omitted_condition"
P_DIAGNOSIS = "guard.problem.diagnosis"
P_DOSE = "guard.problem.dose"
P_MEDICATION = "guard.problem.medication"
P_SEVERITY = "guard.problem.severity"
P_REFERRAL = "guard.problem.referral"


@dataclass(frozen=True)
class GuardResult:
    """Outcome of a check.

    Attributes:
        ok: True when the text may be shown.
        asserted_not_found: labels (chest) or conditions (scalp) the text asserts although the
            classifier did not find them (or does not assess them).
        omitted: labels / conditions the classifier flagged that the text leaves out or denies.
        problems: translation keys (namespace ``guard``) of the failed rules, in rule order.
        details: (problem key, labels or phrases it concerns) pairs, for :meth:`note`.
        kind: ``chest`` or ``care_plan`` (says what is shown instead).
    """

    ok: bool
    asserted_not_found: tuple[str, ...] = ()
    omitted: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    details: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())
    kind: Kind = "chest"

    def reasons(self, lang: str | None) -> list[str]:
        """One translated sentence part per problem."""
        out = []
        names_of = dict(self.details)
        for key in self.problems:
            names = t("guard.list_separator", lang).join(display_name(n, self.kind, lang) for n in names_of.get(key, ()))
            out.append(t(key, lang, names=names))
        return out

    def note(self, lang: str | None) -> str:
        """One paragraph for the UI saying why the AI text is hidden and what is shown instead.

        Empty when ``ok``.
        """
        if self.ok:
            return ""
        reasons = t("guard.reason_separator", lang).join(self.reasons(lang))
        return t(f"guard.note.{self.kind}", lang, reasons=reasons)


def display_name(name: str, kind: Kind, lang: str | None) -> str:
    """A finding (chest) or condition (care plan) as the reader sees it in ``lang``."""
    if kind == "care_plan":
        key = f"scalp.condition.{name}"
        return t(key, lang) if key in catalog("en") else name
    if name == NO_FINDING:
        return t("guard.no_finding", lang)
    if name in SIDES:  # a side the text named for no finding (stray_side)
        return t(f"llm.report.side.{name}", lang)
    return localized_name(name, lang)


def guard_result(kind: Kind, details: Sequence[tuple[str, tuple[str, ...]]], asserted: Sequence[str],
                 omitted: Sequence[str]) -> GuardResult:
    """The result of a check from its ``(problem key, names)`` details in rule order (problems with no
    names are dropped, except :data:`P_EMPTY`); ``ok`` when none is left."""
    details = tuple((k, tuple(dict.fromkeys(v))) for k, v in details if v or k in (P_EMPTY,))
    return GuardResult(ok=not details, asserted_not_found=tuple(dict.fromkeys(asserted)),
                       omitted=tuple(dict.fromkeys(omitted)), problems=tuple(k for k, _ in details),
                       details=details, kind=kind)

